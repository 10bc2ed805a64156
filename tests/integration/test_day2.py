"""Day 2 on a running swarm: the settings Docker takes only at init (address pools, data path port) set then and
guarded after, certificate expiry, join-token and root CA rotations as explicit operations, and node labels
replaced when asked. A 1-manager, 1-worker lab from the ready-made image."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from swarmlab.runner import run_playbook
from tests import nodes

pytestmark = pytest.mark.docker

LAB = "it-day2"
NODES = [{"name": "manager1", "role": "manager"}, {"name": "worker1", "role": "worker"}]
INIT = {
    "swarm_default_addr_pool": ["10.123.0.0/16"],
    "swarm_subnet_size": 26,
    "swarm_data_path_port": 7789,
    "swarm_node_cert_expiry": 7200,
}
SWARMLAB = str(Path(sys.executable).parent / "swarmlab")
EVENTS: list[dict] = []


def sh(node, cmd):
    return nodes.sh(LAB, node, cmd)


def swarm_info(node="manager1"):
    rc, out = sh(node, "docker info --format '{{json .Swarm}}'")
    assert rc == 0, out
    return json.loads(out)


def node_inspect(name):
    rc, out = sh("manager1", f"docker node inspect {name}")
    assert rc == 0, out
    return json.loads(out)[0]


def play(book, inventory, **extravars):
    return run_playbook(book, inventory, {**INIT, **extravars}, on_event=EVENTS.append)


@pytest.fixture(scope="module")
def lab(make_lab):
    inventory = make_lab(LAB, "172.30.30.0/24", NODES, lab_nodes_ready=True)
    first = play("site", inventory)
    assert first.ok, first.failures
    return inventory


def test_init_takes_the_address_pool_data_path_port_and_cert_expiry(lab):
    cluster = swarm_info()["Cluster"]
    assert cluster["DefaultAddrPool"] == ["10.123.0.0/16"] and cluster["SubnetSize"] == 26
    assert cluster["DataPathPort"] == 7789
    assert cluster["Spec"]["CAConfig"]["NodeCertExpiry"] == 7200 * 10**9
    rc, out = sh("manager1", "docker network create -d overlay day2-net >/dev/null && "
                             "docker network inspect day2-net --format '{{range .IPAM.Config}}{{.Subnet}}{{end}}'")
    assert rc == 0, out
    assert out.strip().startswith("10.123.") and out.strip().endswith("/26")
    again = play("site", lab)
    assert again.ok and again.changed == 0, again.changes


def test_init_only_settings_the_swarm_was_not_made_with_are_refused(lab):
    other = play("site", lab, swarm_default_addr_pool=["10.99.0.0/16"], swarm_data_path_port=4789)
    assert not other.ok
    said = " ".join(f.message for f in other.failures)
    assert "address pools 10.123.0.0/16 /26 (the inventory: 10.99.0.0/16 /26)" in said
    assert "data path port 7789 (the inventory: 4789)" in said and "Nothing was changed" in said
    # A pool over the nodes' own network is refused before anything else.
    overlap = play("site", lab, swarm_default_addr_pool=["172.30.0.0/16"])
    assert not overlap.ok
    assert "172.30.0.0/16 overlaps 172.30.30.0/24 on manager1" in " ".join(f.message for f in overlap.failures)
    assert swarm_info()["Cluster"]["DefaultAddrPool"] == ["10.123.0.0/16"]


def test_rotated_join_tokens_refuse_the_old_one_and_admit_with_the_new(lab):
    old = sh("manager1", "docker swarm join-token -q worker")[1].strip()
    rotated = run_playbook("rotate", lab, {"rotate": "join-tokens"}, on_event=EVENTS.append)
    assert rotated.ok, rotated.failures
    new = sh("manager1", "docker swarm join-token -q worker")[1].strip()
    assert new and new != old
    worker_id = node_inspect("worker1")["ID"]
    assert sh("worker1", "docker swarm leave")[0] == 0
    sh("manager1", f"for i in $(seq 30); do docker node inspect {worker_id} -f '{{{{.Status.State}}}}' | grep -q down && break; sleep 1; done;"
                   f" docker node rm {worker_id}")
    addr = swarm_info()["NodeAddr"]
    rc, out = sh("worker1", f"timeout 30 docker swarm join --token {old} {addr}:2377")
    assert rc != 0, out  # the old token no longer admits a node
    rejoined = play("site", lab)
    assert rejoined.ok, rejoined.failures
    assert swarm_info("worker1")["LocalNodeState"] == "active"


def test_a_rotated_root_ca_reissues_every_node_certificate(lab):
    before = swarm_info()["Cluster"]["TLSInfo"]["TrustRoot"]
    r = subprocess.run([SWARMLAB, "rotate", "ca", "-i", str(lab)], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    after = swarm_info()["Cluster"]["TLSInfo"]["TrustRoot"]
    assert after != before
    for name in ("manager1", "worker1"):
        assert node_inspect(name)["Description"]["TLSInfo"]["TrustRoot"] == after


def test_labels_the_inventory_drops_go_when_replace_is_asked(lab):
    both = play("site", lab, swarm_node_labels={"zone": "east", "disk": "ssd"})
    assert both.ok, both.failures
    merged = play("site", lab, swarm_node_labels={"zone": "east"})
    assert merged.ok and merged.changed == 0  # merge keeps what the inventory does not list
    assert node_inspect("worker1")["Spec"]["Labels"] == {"zone": "east", "disk": "ssd"}
    replaced = play("site", lab, swarm_node_labels={"zone": "east"}, swarm_node_labels_state="replace")
    assert replaced.ok, replaced.failures
    assert node_inspect("worker1")["Spec"]["Labels"] == {"zone": "east"}
    assert node_inspect("manager1")["Spec"]["Labels"] == {"zone": "east"}
    again = play("site", lab, swarm_node_labels={"zone": "east"}, swarm_node_labels_state="replace")
    assert again.ok and again.changed == 0


def test_no_join_token_in_anything_the_runs_produced(lab):
    text = json.dumps(EVENTS)
    assert "SWMTKN-" not in text
    assert "Root CA rotated" in text or "Rotate the join tokens" in text  # the control: the runs' events are here
