"""The walkthrough's services on a 3-node lab, in its order: nginx deploy, HTTP from every node, rolling
update, rollback, drain and activate, prune, idempotence, then httpd with 5 replicas; and the failures
an operator must see clearly. The tests share one lab and run in file order."""

import hashlib
import json
import re
import subprocess
import sys
import time
from pathlib import Path

import docker
import pytest
import requests
import yaml

from swarmlab.runner import run_playbook as _run_playbook
from tests.continuity import Continuity
from tests.docker_fixtures import image_builds
from tests.http import page

pytestmark = pytest.mark.docker

LAB = "it-svc"
# Every node publishes its ports 85 and 80 on the host's loopback, as a browser on the host would use them.
# Below the kernel's ephemeral ports (32768-60999): a port a stopped node frees must not be taken by some
# loopback connection's own end before the node starts again (its start then fails, "address already in use").
NODES = [
    {"name": "manager1", "role": "manager", "ports": ["18085:85", "18080:80"]},
    {"name": "worker1", "role": "worker", "ports": ["28085:85", "28080:80"]},
    {"name": "worker2", "role": "worker", "ports": ["31085:85", "31080:80"]},
]
LOOPBACK = {"manager1": 18000, "worker1": 28000, "worker2": 31000}


def urls(port, nodes=("manager1", "worker1", "worker2")):
    return [f"http://127.0.0.1:{LOOPBACK[n] + port}/" for n in nodes]


EVENTS: list[dict] = []


def run_playbook(*args, **kwargs):
    return _run_playbook(*args, on_event=EVENTS.append, **kwargs)


def sh(node, cmd):
    rc, out = docker.from_env().containers.get(f"{LAB}-{node}").exec_run(["sh", "-c", cmd])
    return rc, out.decode()


def pages(port, nodes=("manager1", "worker1", "worker2")):
    """The page each node serves on the port."""
    out = {}
    for name in nodes:
        ip = docker.from_env().containers.get(f"{LAB}-{name}").attrs["NetworkSettings"]["Networks"][LAB]["IPAddress"]
        out[name] = page(f"http://{ip}:{port}/", timeout=5)
    return out


def tasks(service):
    """`docker service ps -f desired-state=running SERVICE`: (node, image, state) per task."""
    rc, out = sh("manager1", f"docker service ps -f desired-state=running --format '{{{{json .}}}}' {service}")
    assert rc == 0, out
    rows = [json.loads(line) for line in out.splitlines()]
    return sorted((t["Node"], t["Image"], t["CurrentState"].split()[0]) for t in rows)


def verify(lab, extravars):
    result = run_playbook("verify", lab, extravars)
    return result, result.facts.get("manager1", {}).get("verify_rows", [])


@pytest.fixture(scope="module")
def lab(make_lab, root):
    # Engine installation is not what these tests check: the nodes start from the ready-made image.
    inventory = make_lab(LAB, "172.30.23.0/24", NODES, lab_nodes_ready=True)
    result = run_playbook("site", inventory)
    assert result.ok, result.failures or result.error
    return inventory


def test_ready_nodes_have_the_engine_and_their_own_identity(lab):
    """The ready-made image holds what the docker_engine role installed, and nothing one node must not share."""
    def hosts(event, task):
        runs = [e for e in EVENTS if e.get("event") == event and task in e["event_data"].get("task", "")]
        assert not any(e["event_data"].get("res", {}).get("changed") for e in runs), task
        return sorted(e["event_data"]["host"] for e in runs)

    every = ["manager1", "worker1", "worker2"]
    # dpkg shows every engine package installed, so apt (and its package list refresh) does not run.
    assert hosts("runner_on_ok", "Find which of the engine packages are installed") == every
    assert hosts("runner_on_skipped", "Install the engine packages") == every
    assert hosts("runner_on_ok", "Write /etc/docker/daemon.json") == every
    identities = {sh(n, "cat /etc/machine-id /etc/ssh/ssh_host_ed25519_key.pub")[1] for n in ("manager1", "worker1", "worker2")}
    assert len(identities) == 3


def test_a_ready_node_whose_engine_seed_fails_keeps_its_engine_down_and_says_why(lab, tmp_path):
    """A seed cut short (its tarball truncated here) leaves no half store, and the engine does not start on one it
    would take as whole: the engine check names the failed unit, rather than the services finding images missing."""
    client = docker.from_env()
    like = client.containers.get(f"{LAB}-manager1")
    seed = "/var/lib/swarmlab/engine-seed.tar"
    bad = tmp_path / "engine-seed.tar"
    # The tarball's first 60 MB: the image metadata and some of the layers, then the archive ends.
    rc, head = like.exec_run(["head", "-c", "60000000", seed], stderr=False)
    assert rc == 0 and len(head) == 60000000
    bad.write_bytes(head)
    host = like.attrs["HostConfig"]
    name = f"{LAB}-seed"
    node = client.containers.run(
        like.image, name=name, hostname="seed", detach=True, environment={"container": "docker"},
        privileged=host["Privileged"], cap_add=host["CapAdd"], cap_drop=host["CapDrop"],
        security_opt=host["SecurityOpt"], cgroupns=host["CgroupnsMode"], tmpfs={"/run": "", "/run/lock": ""},
        volumes=[b for b in host["Binds"] if b.startswith("/sys/fs/cgroup:")] + [f"{name}-docker:/var/lib/docker", f"{bad}:{seed}:ro"],
    )
    try:
        inventory = yaml.safe_load(Path(lab).read_text())
        inventory["all"]["children"] = {"managers": {"hosts": {}}, "workers": {"hosts": {"seed": {"ansible_host": name}}}}
        (tmp_path / "hosts.yml").write_text(yaml.safe_dump(inventory))
        # As lab_nodes passes it for a node fresh from the ready-made image: only the engine check runs.
        inputs = like.image.labels["org.swarmlab.engine-inputs"]
        result = run_playbook("docker", tmp_path / "hosts.yml", {"docker_engine_image_inputs": inputs})
        assert not result.ok
        [failure] = result.failures
        assert failure.task == "Check that the engine answers", result.failures
        assert failure.message.startswith("The engine does not answer: "), failure.message
        assert "Failed units: swarmlab-engine-seed.service" in failure.message, failure.message
        rc, out = node.exec_run(["sh", "-c", "systemctl is-active docker.service; ls -A /var/lib/docker"])
        assert out.decode().split() == ["inactive", ".seed"], out.decode()
    finally:
        node.remove(force=True, v=True)
        client.volumes.get(f"{name}-docker").remove()


def test_a_failed_ready_made_build_leaves_no_build_node_and_no_image(lab_images, tmp_path):
    """A build whose engine install fails (a package apt cannot find) commits nothing and removes its build node."""
    client = docker.from_env()
    client.images.get("swarmlab/node:bookworm").tag("swarmlab-test/node", "broken")
    try:
        with image_builds("ready"):  # no other ready-made build meanwhile: its engine's volume would be unlabelled too
            # The build node's engine volume is unlabelled (lab nodes' are labelled with their lab).
            volumes = {v.name for v in client.volumes.list() if not v.attrs.get("Labels")}
            result = run_playbook("lab/nodes", extravars={
                "lab_nodes_lab": "it-broken", "lab_nodes_inventory": str(tmp_path / "hosts.yml"), "lab_nodes_ready": True,
                "lab_nodes_image": "swarmlab-test/node:broken", "docker_engine_distro_packages": ["swarmlab-no-such-package"]})
            assert not result.ok
            assert "The ready-made image was not made: " in result.failures[-1].message, result.failures
            assert not client.containers.list(all=True, filters={"name": "swarmlab-ready-build-it-broken"})
            assert not client.images.list(name="swarmlab-test/node:broken-ready")
            assert {v.name for v in client.volumes.list() if not v.attrs.get("Labels")} == volumes  # its engine's volume went with it
            assert not (tmp_path / "hosts.yml").exists()
    finally:
        client.images.remove("swarmlab-test/node:broken")


@pytest.fixture(scope="module")
def nginx(root):
    return yaml.safe_load((root / "exercises/nginx.yml").read_text())


@pytest.fixture(scope="module")
def httpd(root):
    return yaml.safe_load((root / "exercises/httpd.yml").read_text())


def test_deploy_serves_from_every_node(lab, nginx):
    result = run_playbook("services", lab, nginx)
    assert result.ok, result.failures or result.error
    assert [t[1:] for t in tasks("WEB")] == [("swarmlab/nginx:1.12.1", "Running")] * 3
    assert all("swarmlab nginx 1.12.1" in page for page in pages(85).values())
    r = requests.get("http://127.0.0.1:18085/", timeout=5)
    assert r.status_code == 200 and "swarmlab nginx 1.12.1" in r.text

    result, rows = verify(lab, nginx)
    assert result.ok, result.failures
    checks = {(r["check"], r["target"]): r["ok"] for r in rows}
    assert checks == {
        **{("node", n): True for n in ("manager1", "worker1", "worker2")},
        ("service", "WEB"): True,
        ("service", "WEB-proxy"): True,
        **{("http", f"WEB:85 on {n}"): True for n in ("manager1", "worker1", "worker2")},
    }


def test_second_deploy_changes_nothing(lab, nginx):
    with Continuity(urls(85), expect="swarmlab nginx 1.12.1") as load:
        result = run_playbook("services", lab, nginx)
    assert result.ok and result.changed == 0, result.stats
    load.assert_unbroken(least=10)


def test_check_mode_on_the_live_swarm_changes_nothing_and_checks_for_real(lab, nginx):
    # `ansible-playbook services.yml --check` before a change: every node counts as reached (its raw read runs
    # in check mode too), nothing is to change; verify's reads and HTTP requests run as in a real run.
    result = run_playbook("services", lab, nginx, check=True)
    assert result.ok and not result.changes, result.failures or result.error or result.changes
    result = run_playbook("verify", lab, nginx, check=True)
    assert result.ok, result.failures or result.error
    rows = result.facts["manager1"]["verify_rows"]
    assert {r["target"]: r["ok"] for r in rows if r["check"] == "http"} == {
        f"WEB:85 on {n}": True for n in ("manager1", "worker1", "worker2")
    }
    # An operation in check mode changes nothing and reports the change it would make (its command is skipped).
    for book, extravars, says in (
        ("update", {"service": "WEB", "image": "swarmlab/nginx:1.13.5"}, "would roll from swarmlab/nginx:1.12.1 to swarmlab/nginx:1.13.5"),
        ("scale", {"service": "WEB", "replicas": 4}, "would go from 3 to 4 replicas"),
    ):
        result = run_playbook(book, lab, extravars, check=True)
        assert result.ok and [host for host, _ in result.changes] == ["manager1"], result.failures or result.changes
        assert says in planned(result.changes[0][1]), book
    assert [t[1:] for t in tasks("WEB")] == [("swarmlab/nginx:1.12.1", "Running")] * 3
    # An image the nodes lack would be loaded: in check mode it is neither saved nor loaded.
    result = run_playbook("update", lab, {"service": "WEB", "image": "swarmlab/apt-cacher-ng:3.7"}, check=True)
    assert result.ok, result.failures or result.error
    rollout = next(task for _, task in result.changes if task.startswith("Say what the roll-out would change"))
    assert "would roll from swarmlab/nginx:1.12.1 to swarmlab/apt-cacher-ng:3.7" in planned(rollout)
    loads = sorted(host for host, task in result.changes if task == "Say which images the node would load")
    assert loads == ["manager1", "worker1", "worker2"], result.changes
    assert "would load swarmlab/apt-cacher-ng:3.7" in planned("Say which images the node would load")
    # Nodes that get the bundle copied (VMs) rather than mounted: no bundle was saved, and none is looked for.
    result = run_playbook("update", lab, {"service": "WEB", "image": "swarmlab/apt-cacher-ng:3.7", "lab_images_bundle_mounted": False}, check=True)
    assert result.ok, result.failures or result.error
    assert sorted(host for host, task in result.changes if task == "Say which images the node would load") == loads
    assert "apt-cacher-ng" not in sh("worker1", "docker images --format '{{.Repository}}'")[1]


def planned(task):
    """What a check-mode run said it would change, in the task named so (the last such event)."""
    said = [e for e in EVENTS if e["event"] == "runner_on_ok" and e["event_data"].get("task") == task]
    return said[-1]["event_data"]["res"]["msg"]


def test_rolling_update_then_rollback(lab, nginx):
    with Continuity(urls(85), expect="Welcome to nginx!") as load:
        result = run_playbook("update", lab, {"service": "WEB", "image": "swarmlab/nginx:1.13.5"})
    assert result.ok, result.failures or result.error
    load.assert_unbroken()
    assert [t[1:] for t in tasks("WEB")] == [("swarmlab/nginx:1.13.5", "Running")] * 3
    assert all("swarmlab nginx 1.13.5" in page for page in pages(85).values())
    # The live update changed the image only: replicas, ports and the update settings are the exercise's still.
    spec = json.loads(sh("manager1", "docker service inspect WEB")[1])[0]["Spec"]
    assert spec["Mode"]["Replicated"]["Replicas"] == 3 and spec["UpdateConfig"]["FailureAction"] == "rollback"
    result, _ = verify(lab, {**nginx, "swarm_services_image_overrides": {"WEB": "swarmlab/nginx:1.13.5"}})
    assert result.ok, result.failures
    again = run_playbook("update", lab, {"service": "WEB", "image": "swarmlab/nginx:1.13.5"})
    assert again.ok and again.changed == 0, again.stats

    result = run_playbook("rollback", lab, {"service": "WEB"}, check=True)
    assert result.ok and [host for host, _ in result.changes] == ["manager1"], result.failures or result.changes
    assert "would go back to swarmlab/nginx:1.12.1" in planned(result.changes[0][1])
    assert [t[1:] for t in tasks("WEB")] == [("swarmlab/nginx:1.13.5", "Running")] * 3

    with Continuity(urls(85), expect="Welcome to nginx!") as load:
        result = run_playbook("rollback", lab, {"service": "WEB"})
    assert result.ok, result.failures or result.error
    load.assert_unbroken()
    assert [t[1:] for t in tasks("WEB")] == [("swarmlab/nginx:1.12.1", "Running")] * 3
    assert all("swarmlab nginx 1.12.1" in page for page in pages(85).values())


def test_drain_moves_the_tasks_and_activate_takes_them_again(lab, nginx):
    # worker2 stops answering once drained (its proxy task leaves too); the others must not miss a request.
    with Continuity(urls(85, ("manager1", "worker1")), expect="Welcome to nginx!") as load:
        result = run_playbook("availability", lab, {"node": "worker2", "availability": "drain"})
    assert result.ok, result.failures or result.error
    load.assert_unbroken()
    # availability.yml returns once the services converged again: worker2's task already runs elsewhere.
    placed = tasks("WEB")
    assert len(placed) == 3 and all(node != "worker2" and state == "Running" for node, _, state in placed), placed
    result, rows = verify(lab, nginx)
    assert result.ok, result.failures
    assert {r["target"] for r in rows if r["check"] == "http"} == {"WEB:85 on manager1", "WEB:85 on worker1"}
    assert [r["detail"] for r in rows if r["target"] == "worker2"] == ["ready, drain, worker"]

    with Continuity(urls(85, ("manager1", "worker1")), expect="Welcome to nginx!") as load:
        result = run_playbook("availability", lab, {"node": "worker2", "availability": "active"})
    assert result.ok, result.failures or result.error
    load.assert_unbroken(least=10)
    assert all("swarmlab nginx 1.12.1" in page for page in pages(85).values())


def refused_drain(lab, node):
    """The refusal's message; the node stays active and WEB answers on every node throughout."""
    with Continuity(urls(85), expect="Welcome to nginx!") as load:
        result = run_playbook("availability", lab, {"node": node, "availability": "drain"})
    assert not result.ok
    [failure] = result.failures
    assert failure.task == "Refuse a drain that would leave the services no node to run on", failure
    assert sh("manager1", f"docker node inspect {node} --format '{{{{.Spec.Availability}}}}'")[1].strip() == "active"
    load.assert_unbroken(least=10)  # the refusal comes within seconds
    return failure.message


def test_a_drain_that_would_leave_the_tasks_no_node_is_refused(lab, nginx):
    # worker1 and worker2 paused (their tasks stay, they take no new ones): draining manager1 would leave WEB's
    # tasks there nowhere to go, and the drain would wait for them until it timed out.
    for node in ("worker1", "worker2"):
        assert sh("manager1", f"docker node update --availability pause {node}")[0] == 0
    try:
        message = refused_drain(lab, "manager1")
        assert "worker1 is pause and ready, worker2 is pause and ready" in message
        # WEB-proxy: the proxy in front of WEB where the kernel has no IPVS (a global service, on every node).
        assert re.search(r"and WEB(, WEB-proxy)? could run nowhere\. Nothing was changed\.", message), message
    finally:
        for node in ("worker1", "worker2"):
            sh("manager1", f"docker node update --availability active {node}")
    assert tasks("WEB") and all(state == "Running" for _, _, state in tasks("WEB"))


def test_a_drain_that_would_leave_tasks_no_node_their_placement_allows_is_refused(lab, nginx):
    # Nodes that take tasks remain, but not for these: one pinned to the managers, one at most once per node.
    created = {"PINNED": "--replicas 1 --constraint node.role==manager", "SPREAD": "--replicas 3 --replicas-max-per-node 1"}
    for name, flags in created.items():
        rc, out = sh("manager1", f"docker service create --detach --name {name} {flags} swarmlab/nginx:1.12.1")
        assert rc == 0, out
    try:
        message = refused_drain(lab, "manager1")
        assert ("Draining manager1 would leave PINNED no node its placement allows (node.role==manager; the other nodes that "
                "take tasks: worker1, worker2); 1 of SPREAD's 3 tasks no node (at most 1 per node, 2 other nodes would take "
                "them). Nothing was changed.") in message, message
    finally:
        sh("manager1", "docker service rm " + " ".join(created))
    assert tasks("WEB") and all(state == "Running" for _, _, state in tasks("WEB"))


def test_an_inventory_that_would_drain_every_node_is_refused(lab, nginx):
    with Continuity(urls(85), expect="Welcome to nginx!") as load:
        result = run_playbook("site", lab, {"swarm_node_availability": "drain"})
    assert not result.ok
    [failure] = result.failures
    assert failure.task == "Refuse node changes that would leave the services' tasks no node to run on", failure
    assert failure.message.startswith(
        "The inventory's nodes would leave WEB no node to run on (no placement constraints; the nodes that would take tasks: none)"
    ), failure.message
    assert "Nothing was changed." in failure.message
    assert sh("manager1", "docker node ls --format '{{.Availability}}'")[1].split() == ["Active"] * 3
    load.assert_unbroken(least=10)


def test_prune_frees_space_and_services_stay_up(lab, nginx):
    # An image no container uses, as a node accumulates them.
    rc, out = sh("worker1", "head -c 8000000 /dev/urandom > /tmp/blob && tar -C /tmp -c blob | docker import - leftover:1 && rm /tmp/blob")
    assert rc == 0, out
    result = run_playbook("prune", lab)
    assert result.ok, result.failures or result.error
    report = result.facts["worker1"]["docker_prune_report"]
    assert int(report["freed_bytes"]) >= 8_000_000 and int(report["images"]) >= 1, report
    assert sh("worker1", "docker image inspect leftover:1")[0] != 0
    # The lab's own images are kept: there is no registry to pull them back from.
    assert sh("worker1", "docker image inspect swarmlab/nginx:1.12.1")[0] == 0
    assert all("swarmlab nginx 1.12.1" in page for page in pages(85).values())

    again = run_playbook("prune", lab)
    assert again.ok and again.changed == 0, again.stats
    result = run_playbook("services", lab, nginx)
    assert result.ok and result.changed == 0, result.stats


def test_httpd_five_replicas_answer_on_every_node(lab, httpd):
    result = run_playbook("services", lab, httpd)
    assert result.ok, result.failures or result.error
    placed = tasks("WEB")
    assert [t[1:] for t in placed] == [("swarmlab/httpd:2.4", "Running")] * 5
    assert len({node for node, _, _ in placed}) == 3, placed  # spread over the three nodes
    assert all("It works!" in page for page in pages(80).values())
    result, rows = verify(lab, httpd)
    assert result.ok, result.failures
    assert sum(r["check"] == "http" and r["ok"] for r in rows) == 3
    # Exactly httpd's spec now: the proxy publishes port 80 only, nothing answers on nginx's 85.
    assert proxy_ports("WEB") == [80]
    with pytest.raises(requests.ConnectionError):
        requests.get(urls(85)[0], timeout=3)


def proxy_ports(service):
    spec = json.loads(sh("manager1", f"docker service inspect {service}-proxy")[1])[0]["Spec"]
    return sorted(p["PublishedPort"] for p in spec["EndpointSpec"]["Ports"])


def test_failed_update_keeps_what_answers_and_ends_with_swarms_verdict(lab):
    """An image no node has: Swarm pauses the update; swarmlab says so within seconds and port 80 never stops answering."""
    with Continuity(urls(80), expect="It works!") as load:
        start = time.monotonic()
        result = run_playbook("update", lab, {"service": "WEB", "image": "swarmlab/nginx:9.9"})
        took = time.monotonic() - start
    assert not result.ok and took < 30, (took, result.failures)
    load.assert_unbroken(least=10)
    [failure] = result.failures
    assert failure.message.startswith("update of WEB paused by Swarm: No such image: swarmlab/nginx:9.9"), failure.message
    assert "running swarmlab/httpd:2.4 (of 5 wanted)" in failure.message and "`docker service update --rollback WEB`" in failure.message
    assert proxy_ports("WEB") == [80]  # the update changed the image only

    with Continuity(urls(80), expect="It works!") as load:
        result = run_playbook("rollback", lab, {"service": "WEB"})
    assert result.ok, result.failures or result.error
    load.assert_unbroken(least=10)
    assert [t[1:] for t in tasks("WEB")] == [("swarmlab/httpd:2.4", "Running")] * 5


def test_check_with_no_exercise_checks_what_is_deployed(lab):
    result, rows = verify(lab, {})
    assert result.ok, result.failures
    assert {(r["check"], r["target"]): r["detail"] for r in rows if r["check"] != "node"} == {
        ("service", "WEB"): "5/5 tasks running swarmlab/httpd:2.4",
        ("service", "WEB-proxy"): "3/3 tasks running swarmlab/haproxy:2.6",
        # Asked once each, by the controller's url lookup: any 2xx answer passes, with no uri run.
        **{("http", f"WEB:80 on {n}"): f"HTTP 2xx from http://{ip(n)}:80/" for n in ("manager1", "worker1", "worker2")},
    }
    # No replica left (scale returns once the last task stopped): the proxies close every connection unanswered.
    assert run_playbook("scale", lab, {"service": "WEB", "replicas": 0}).ok
    try:
        result, rows = verify(lab, {"verify_http_attempts": 1})
        assert not result.ok
        http = [r for r in rows if r["check"] == "http"]
        assert len(http) == 3 and not any(r["ok"] for r in http), http
        assert all(r["detail"].startswith(f"http://{ip(n)}:80/: ") for r, n in zip(http, ("manager1", "worker1", "worker2"))), http
    finally:
        assert run_playbook("scale", lab, {"service": "WEB", "replicas": 5}).ok


def ip(node):
    return docker.from_env().containers.get(f"{LAB}-{node}").attrs["NetworkSettings"]["Networks"][LAB]["IPAddress"]


def test_scale_changes_the_replicas_only(lab):
    result = run_playbook("scale", lab, {"service": "WEB", "replicas": 2})
    assert result.ok, result.failures or result.error
    assert [t[1:] for t in tasks("WEB")] == [("swarmlab/httpd:2.4", "Running")] * 2
    assert proxy_ports("WEB") == [80] and all("It works!" in page for page in pages(80).values())
    again = run_playbook("scale", lab, {"service": "WEB", "replicas": "2"})
    assert again.ok and again.changed == 0, again.stats
    result = run_playbook("scale", lab, {"service": "WEB", "replicas": 5})
    assert result.ok, result.failures or result.error
    assert len(tasks("WEB")) == 5


@pytest.mark.parametrize(
    ("playbook", "extravars", "message"),
    [
        ("update", {"service": "NOPE", "image": "nginx:1"}, "No service NOPE in this swarm"),
        ("update", {"service": "WEB", "image": "Not An Image!"}, '"Not An Image!" is not an image reference Docker accepts'),
        ("update", {"service": "WEB", "image": "nginx::1"}, '"nginx::1" is not an image reference'),
        ("update", {"service": "", "image": "nginx:1"}, "Name the service to act on"),
        ("scale", {"service": "NOPE", "replicas": 1}, "No service NOPE in this swarm"),
        ("scale", {"service": "WEB", "replicas": -1}, 'WEB: replicas must be a whole number of 0 or more (got "-1")'),
        ("scale", {"service": "WEB", "replicas": "many"}, 'WEB: replicas must be a whole number of 0 or more (got "many")'),
        ("scale", {"service": "WEB-proxy", "replicas": 2}, "WEB-proxy is a global service"),
        ("rm", {"service": "NOPE"}, "No service NOPE in this swarm"),
        # A lab of 3 nodes holds 75 replicas (25 per node): more is refused before any task starts.
        ("scale", {"service": "WEB", "replicas": 10000}, "WEB: 10000 replicas are more than the 75 swarm_services_max_replicas allows"),
        ("services", {"swarm_services_specs": [{"name": "HUGE", "image": "swarmlab/nginx:1.12.1", "replicas": 10000}]},
         "Service HUGE: 10000 replicas are more than the 75 swarm_services_max_replicas allows"),
        # The first spec is good; the second's faults stop both, each named.
        ("services", {"swarm_services_specs": [{"name": "FINE", "image": "swarmlab/nginx:1.12.1"},
                                               {"name": "bad name", "image": "swarmlab/nginx:1.12.1", "ports": [{"published": 80, "target": 0}]}]},
         "Service bad name: name must be a DNS label"),
        ("services", {"swarm_services_specs": [{"name": "TAKEN", "image": "swarmlab/nginx:1.12.1", "ports": [{"published": 80, "target": 80}]}]},
         "Service TAKEN: published port 80 is already taken by the service WEB-proxy"),
        # Reservations weighed against the nodes' CPUs, and objects a spec uses that nothing declares: refused first.
        ("services", {"swarm_services_specs": [{"name": "GREEDY", "image": "swarmlab/nginx:1.12.1", "replicas": 2, "reservations": {"cpus": 64}}]},
         "Service GREEDY: 2 of its tasks would find no node with the 64 CPUs each reserves free"),
        ("services", {"swarm_services_specs": [{"name": "S", "image": "swarmlab/nginx:1.12.1", "secrets": ["nope"]}],
                      "swarm_services_secrets": [{"name": "other", "value": "x"}]},
         "Service S: secrets: nope is not in swarm_services_secrets"),
        ("rollback", {"service": "NOPE"}, "No service NOPE in this swarm"),
        ("rollback", {"service": ""}, "Name the service to roll back"),
    ],
)
def test_bad_requests_change_nothing(lab, playbook, extravars, message):
    before = sh("manager1", "docker service ls --format '{{.Name}} {{.Image}} {{.Replicas}}'")[1]
    result = run_playbook(playbook, lab, extravars)
    assert not result.ok
    assert message in result.failures[0].message, result.failures[0].message
    assert result.changed == 0
    assert sh("manager1", "docker service ls --format '{{.Name}} {{.Image}} {{.Replicas}}'")[1] == before


def test_lab_nodes_have_memory_and_process_limits(lab):
    """A runaway service fails inside its node, not on the lab's host (docker-machine's VMs had 1 GB too)."""
    for name in ("manager1", "worker1", "worker2"):
        host = docker.from_env().containers.get(f"{LAB}-{name}").attrs["HostConfig"]
        assert host["Memory"] == 1024**3 and host["PidsLimit"] == 4096, name


def test_rm_removes_the_service_and_its_proxy(lab):
    spec = {"swarm_services_specs": [{"name": "GONE", "image": "swarmlab/nginx:1.12.1", "ports": [{"published": 86, "target": 80}]}]}
    result = run_playbook("services", lab, spec)
    assert result.ok, result.failures or result.error
    assert sh("manager1", "docker config ls -q --filter label=org.swarmlab.proxy-for=GONE")[1].strip()
    result = run_playbook("rollback", lab, {"service": "GONE"})
    assert not result.ok and "GONE has no previous spec to roll back to (it was never updated)" in result.failures[0].message
    result = run_playbook("rm", lab, {"service": "GONE"})
    assert result.ok, result.failures or result.error
    assert sh("manager1", "docker service inspect GONE")[0] != 0 and sh("manager1", "docker service inspect GONE-proxy")[0] != 0
    assert sh("manager1", "docker config ls -q --filter label=org.swarmlab.proxy-for=GONE")[1].strip() == ""
    again = run_playbook("rm", lab, {"service": "GONE"})
    assert not again.ok and "No service GONE in this swarm" in again.failures[0].message
    # WEB still uses the proxy network: it stays.
    assert sh("manager1", "docker network inspect swarmlab-proxy")[0] == 0


def test_deploy_absent_removes_the_last_proxy_and_its_network(lab, httpd):
    gone = {"swarm_services_specs": [{**spec, "state": "absent"} for spec in httpd["swarm_services_specs"]]}
    result = run_playbook("services", lab, gone)
    assert result.ok, result.failures or result.error
    assert sh("manager1", "docker service ls -q")[1].strip() == ""
    assert sh("manager1", "docker config ls -q --filter label=org.swarmlab.proxy-for")[1].strip() == ""
    assert sh("manager1", "docker network inspect swarmlab-proxy")[0] != 0
    again = run_playbook("services", lab, gone)
    assert again.ok and again.changed == 0, again.stats
    result = run_playbook("services", lab, httpd)
    assert result.ok, result.failures or result.error


def test_missing_image_fails_with_the_tasks_error_and_verify_names_the_service(lab):
    spec = {"swarm_services_specs": [{"name": "BROKEN", "image": "swarmlab/nope:1", "replicas": 2}]}
    try:
        start = time.monotonic()
        result = run_playbook("services", lab, spec)
        assert not result.ok and time.monotonic() - start < 60
        [failure] = result.failures
        assert failure.host == "manager1"
        assert failure.message.startswith("deploy of BROKEN failed: No such image: swarmlab/nope:1 ("), failure.message
        assert failure.message.endswith("now no task running (of 2 wanted swarmlab/nope:1)"), failure.message

        # The next run checks convergence too, though nothing changes: it does not pass on a broken service.
        result = run_playbook("services", lab, spec)
        assert not result.ok and "deploy of BROKEN failed: No such image" in result.failures[0].message

        result, rows = verify(lab, spec)
        assert not result.ok and result.rc != 0
        [failure] = result.failures
        assert "FAIL service BROKEN: 0/2 tasks running swarmlab/nope:1" in failure.message
        assert [r["target"] for r in rows if not r["ok"]] == ["BROKEN"]
    finally:
        run_playbook("services", lab, {"swarm_services_specs": [{"name": "BROKEN", "image": "x", "state": "absent"}]})


def test_host_mode_that_cannot_fit_changes_nothing(lab):
    spec = {
        "swarm_services_specs": [{"name": "TOOMANY", "image": "swarmlab/nginx:1.12.1", "replicas": 4, "ports": [{"published": 86, "target": 80}]}],
        "swarm_services_publish_mode": "host",
    }
    result = run_playbook("services", lab, spec)
    assert not result.ok
    assert "TOOMANY wants 4 replicas" in result.failures[0].message
    assert sh("manager1", "docker service inspect TOOMANY")[0] != 0


def test_the_routing_mesh_on_nodes_without_ipvs_is_refused(lab):
    # A real fleet's default (the lab's inventory says auto): these nodes share a kernel without IPVS.
    spec = {
        "swarm_services_specs": [{"name": "MESH", "image": "swarmlab/nginx:1.12.1", "replicas": 1, "ports": [{"published": 87, "target": 80}]}],
        "swarm_services_publish_mode": "ingress",
    }
    result = run_playbook("services", lab, spec)
    assert not result.ok
    message = result.failures[0].message
    assert "These nodes' kernels lack IPVS, which the ingress routing mesh needs: manager1, worker1, worker2." in message
    assert "Ports published through it (87)" in message and "set swarm_services_publish_mode to proxy or host" in message
    assert sh("manager1", "docker service inspect MESH")[0] != 0


def node_state(name):
    return sh("manager1", f"docker node inspect -f '{{{{.Status.State}}}}' {name}")[1].strip()


def wait_for_node(name, state, seconds=60):
    end = time.monotonic() + seconds
    while node_state(name) != state:
        assert time.monotonic() < end, f"{name} not {state} after {seconds} s: {node_state(name)}"
        time.sleep(1)


def test_a_node_swarm_counts_ready_but_ansible_cannot_reach_stops_an_update_before_it_starts(lab, tmp_path):
    """Swarm would place tasks there that may never start (an update stalls on them): refused, nothing changed."""
    inventory = yaml.safe_load(lab.read_text())
    inventory["all"]["children"]["workers"]["hosts"]["worker2"]["ansible_host"] = f"{LAB}-no-such-node"
    broken = tmp_path / "hosts.yml"
    broken.write_text(yaml.safe_dump(inventory))
    before = sh("manager1", "docker service inspect -f '{{.Spec.TaskTemplate.ContainerSpec.Image}}' WEB")[1]
    result = run_playbook("update", broken, {"service": "WEB", "image": "swarmlab/nginx:1.13.5", "swarmlab_down_timeout": 4})
    assert not result.ok and result.changed == 0
    assert result.failures[0].message.startswith("worker2 did not answer, yet Swarm still counts it ready after about 4 s"), result.failures
    assert sh("manager1", "docker service inspect -f '{{.Spec.TaskTemplate.ContainerSpec.Image}}' WEB")[1] == before
    # Read-only operations do not wait for Swarm: status answers at once.
    result = run_playbook("status", broken)
    assert result.ok, result.failures or result.error


def test_operations_with_a_node_down_go_on_with_the_others(lab):
    """worker2 stops: update and prune wait until Swarm counts it down (nothing is placed on it), act on the nodes
    that answer, warn of worker2, and what answers keeps answering; worker2 is drained from the manager; back,
    it is made active, and the same update loads the image it missed, which only the lab's host had."""
    client = docker.from_env()
    client.images.get("swarmlab/httpd:2.4").tag("swarmlab-test/httpd", "down")
    node = client.containers.get(f"{LAB}-worker2")
    try:
        node.stop()
        with Continuity(urls(80, ("manager1", "worker1")), expect="It works!") as load:
            result = run_playbook("update", lab, {"service": "WEB", "image": "swarmlab-test/httpd:down"})
        assert result.ok, result.failures or result.error
        load.assert_unbroken(least=10)
        assert [w for w in result.warnings if w.startswith("worker2 did not answer")], result.warnings
        placed = tasks("WEB")
        assert [t[1:] for t in placed] == [("swarmlab-test/httpd:down", "Running")] * 5
        assert {n for n, _, _ in placed} == {"manager1", "worker1"}, placed

        result = run_playbook("prune", lab)
        assert result.ok, result.failures or result.error
        assert sorted(h for h, f in result.facts.items() if "docker_prune_report" in f) == ["manager1", "worker1"]

        # The dead node is drained from the manager, found in its node list by name.
        result = run_playbook("availability", lab, {"node": "worker2", "availability": "drain"})
        assert result.ok, result.failures or result.error
        assert sh("manager1", "docker node inspect worker2 --format '{{.Spec.Availability}}'")[1].strip() == "drain"
    finally:
        node.start()
        wait_for_node("worker2", "ready")
    result = run_playbook("availability", lab, {"node": "worker2", "availability": "active"})
    assert result.ok, result.failures or result.error
    assert sh("manager1", "docker node inspect worker2 --format '{{.Spec.Availability}}'")[1].strip() == "active"
    try:
        assert sh("worker2", "docker image inspect swarmlab-test/httpd:down")[0] != 0
        result = run_playbook("update", lab, {"service": "WEB", "image": "swarmlab-test/httpd:down"})
        assert result.ok, result.failures or result.error
        assert ("worker2", "Load the bundle into the node's engine") in result.changes, result.changes
        assert not result.warnings and sh("worker2", "docker image inspect swarmlab-test/httpd:down")[0] == 0
    finally:
        result = run_playbook("rollback", lab, {"service": "WEB"})
        assert result.ok, result.failures or result.error
        client.images.remove("swarmlab-test/httpd:down")
        # The lab's cached bundle of that image (named by its image list), which nothing else will load.
        Path(f"/var/tmp/swarmlab-images/{hashlib.sha1(b'swarmlab-test/httpd:down').hexdigest()}.tar").unlink(missing_ok=True)
    assert [t[1:] for t in tasks("WEB")] == [("swarmlab/httpd:2.4", "Running")] * 5


def test_no_join_token_in_any_event(lab):
    # docker_swarm_info returns the join tokens with everything it reads: they must never reach an event.
    tokens = [sh("manager1", f"docker swarm join-token -q {kind}")[1].strip() for kind in ("worker", "manager")]
    dump = json.dumps(EVENTS)
    assert len(EVENTS) > 100 and all(t.startswith("SWMTKN-") for t in tokens)
    assert "SWMTKN-" not in dump


# The sample application's token, twice: the first through a playbook run (its events captured), the next through the
# CLI (its stdout and --json captured).
TOKENS = ("first-token-5b1d0c7e", "second-token-93af21d4")


@pytest.fixture(scope="module")
def app(root):
    return yaml.safe_load((root / "exercises/app.yml").read_text())


def app_urls():
    return [f"http://{ip(n)}:8080/" for n in ("manager1", "worker1", "worker2")]


def names(kind):
    return sorted(sh("manager1", f"docker {kind} ls --format '{{{{.Name}}}}'")[1].split())


def test_a_two_tier_application_answers_from_every_node_and_rolls_to_a_new_secret_unbroken(lab, app, root):
    """nginx in front proxies to httpd on their own overlay network, with a token as a secret that both read: the back
    end answers only the front end. A new token is a new secret version: both tiers roll to it while every node keeps
    answering, and the replaced version is removed. The token is in no event, output or --json."""
    result = run_playbook("services", lab, {**app, "swarmlab_app_token": TOKENS[0]})
    assert result.ok, result.failures or result.error
    assert all("It works!" in p for p in pages(8080).values())
    assert names("secret") == ["app_token_header_v1", "app_token_previous_v1", "app_token_v1"]
    spec = json.loads(sh("manager1", "docker service inspect app-back")[1])[0]["Spec"]["TaskTemplate"]
    assert spec["Resources"]["Limits"] == {"NanoCPUs": 500_000_000, "MemoryBytes": 128 * 2**20}
    assert [m["Type"] for m in spec["ContainerSpec"]["Mounts"]] == ["volume"]
    assert [s["File"]["Name"] for s in spec["ContainerSpec"]["Secrets"]] == ["app_token", "app_token_previous"]
    result = run_playbook("services", lab, {**app, "swarmlab_app_token": TOKENS[0]})
    assert result.ok and result.changed == 0, result.changes

    cli = [str(Path(sys.executable).parent / "swarmlab")]
    with Continuity(app_urls(), expect="It works!") as load:
        rolled = subprocess.run([*cli, "deploy", str(root / "exercises/app.yml"), "-i", str(lab), "-v",
                                 "-e", f"swarmlab_app_token={TOKENS[1]}", "-e", f"swarmlab_app_token_previous={TOKENS[0]}"],
                                capture_output=True, text=True, timeout=600)
    assert rolled.returncode == 0, rolled.stdout[-3000:] + rolled.stderr
    load.assert_unbroken(least=20)
    # The back end rolled first and takes either token while the front end rolls to the new one (the exercise's
    # rotation); the replaced versions are gone.
    assert names("secret") == ["app_token_header_v2", "app_token_previous_v1", "app_token_v2"]
    checked = subprocess.run([*cli, "check", "app", "-i", str(lab), "--json"], capture_output=True, text=True, timeout=300)
    assert checked.returncode == 0 and json.loads(checked.stdout), checked.stdout + checked.stderr

    # The control: the same search finds what is not secret, the secret tasks' own results.
    assert "app_token_v1" in json.dumps(EVENTS)
    assert "(item=app_token_header)" in rolled.stdout, rolled.stdout[-3000:]
    assert TOKENS[0] not in json.dumps(EVENTS)
    assert not [t for t in TOKENS if t in rolled.stdout + rolled.stderr + checked.stdout + checked.stderr]


def test_a_global_service_on_workers_is_judged_by_its_placement(lab):
    """One task per worker, none on the manager: the wait and check pass. A worker where its task cannot start (its
    bind mount's source is missing there) fails the deploy with Docker's reason, and check names the service."""
    for node in ("worker1", "worker2"):
        assert sh(node, "mkdir -p /srv/agent")[0] == 0
    agent = {"name": "agent", "image": "swarmlab/httpd:2.4", "mode": "global", "placement": {"constraints": ["node.role == worker"]},
             "mounts": [{"type": "bind", "source": "/srv/agent", "target": "/srv/agent", "readonly": True}]}
    try:
        result = run_playbook("services", lab, {"swarm_services_specs": [agent]})
        assert result.ok, result.failures or result.error
        assert tasks("agent") == [("worker1", "swarmlab/httpd:2.4", "Running"), ("worker2", "swarmlab/httpd:2.4", "Running")]
        result, rows = verify(lab, {})
        assert result.ok and [r["detail"] for r in rows if r["target"] == "agent"] == ["2/2 tasks running swarmlab/httpd:2.4"], rows

        assert sh("worker2", "rm -r /srv/agent")[0] == 0
        result = run_playbook("services", lab, {"swarm_services_specs": [{**agent, "name": "agent2"}]})
        assert not result.ok
        assert "bind source path does not exist: /srv/agent (worker2)" in result.failures[0].message, result.failures
        result, rows = verify(lab, {})
        assert not result.ok
        assert [(r["ok"], r["detail"]) for r in rows if r["target"] == "agent2"] == [(False, "1/2 tasks running swarmlab/httpd:2.4")], rows
    finally:
        run_playbook("services", lab, {"swarm_services_specs": [{"name": n, "state": "absent"} for n in ("agent", "agent2")]})


def test_an_application_marked_absent_leaves_no_network_secret_or_config(lab, app):
    gone = {**app, "swarm_services_specs": [{"name": s["name"], "state": "absent"} for s in app["swarm_services_specs"]]}
    for kind in ("networks", "secrets", "configs"):
        gone[f"swarm_services_{kind}"] = [{"name": o["name"], "state": "absent"} for o in app[f"swarm_services_{kind}"]]
    result = run_playbook("services", lab, gone)
    assert result.ok, result.failures or result.error
    assert not [n for n in names("secret") + names("config") if n.startswith("app")]
    assert "app" not in names("network")


def stack(lab, file, name="walk", **extra):
    return run_playbook("stack", lab, {"swarm_services_stack": name, "swarm_services_stack_file": str(file), **extra})


def test_a_compose_file_deploys_as_a_stack_updates_rolls_back_and_goes(lab, root, tmp_path):
    """The walkthrough's nginx as a Compose file, with a secret read from a file on the controller: served from every
    node (the lab's proxy inside the stack), changed through the file, rolled back by name (with a warning that the
    file still rules), then removed with everything swarmlab made for it."""
    (tmp_path / "token").write_text("compose-secret-8e2f")
    walk = yaml.safe_load((root / "exercises/nginx.compose.yml").read_text())
    walk["services"]["WEB"]["secrets"] = ["token"]
    walk["secrets"] = {"token": {"file": "token"}}
    file = tmp_path / "compose.yml"
    file.write_text(yaml.safe_dump(walk))
    result = stack(lab, file)
    assert result.ok, result.failures or result.error
    assert all("swarmlab nginx 1.12.1" in p for p in pages(85).values())
    assert names("secret") == ["walk_token_v1"] and "walk_WEB-proxy" in names("service")
    assert [t[1:] for t in tasks("walk_WEB")] == [("swarmlab/nginx:1.12.1", "Running")] * 3

    file.write_text(file.read_text().replace("${NGINX_IMAGE:-nginx:1.12.1}", "swarmlab/nginx:1.13.5"))
    with Continuity(urls(85), expect="Welcome to nginx!") as load:
        result = stack(lab, file)
    assert result.ok, result.failures or result.error
    load.assert_unbroken(least=10)
    assert all("swarmlab nginx 1.13.5" in p for p in pages(85).values())

    result = run_playbook("rollback", lab, {"service": "walk_WEB"})
    assert result.ok, result.failures or result.error
    assert result.warnings == ["walk_WEB belongs to the stack walk: the next deploy of that stack sets it back to its Compose file. "
                               "Change the file to keep this change."], result.warnings
    assert all("swarmlab nginx 1.12.1" in p for p in pages(85).values())

    result = stack(lab, file, swarm_services_stack_state="absent")
    assert result.ok, result.failures or result.error
    assert not [n for n in names("service") + names("secret") + names("config") + names("network") if n.startswith("walk")]


def test_a_broken_compose_file_changes_nothing_and_names_each_key(lab, root, tmp_path):
    """Every mistake of the file in one run, each named with the file and the key, and nothing changed."""
    walk = yaml.safe_load((root / "exercises/nginx.compose.yml").read_text())
    walk["services"]["WEB"].update(imag="x", restart="always", ports=["80:80"], configs=["site"], secrets=["pw"])
    walk["services"]["API"] = {"build": "."}
    walk["secrets"] = {"pw": {"file": "nowhere"}}
    file = tmp_path / "compose.yml"
    file.write_text(yaml.safe_dump(walk))
    before = sh("manager1", "docker service ls --format '{{.Name}} {{.Image}} {{.Replicas}}'")[1]
    result = stack(lab, file)
    assert not result.ok and result.changed == 0
    said = result.failures[0].message
    for message in (f"secrets.pw.file: {tmp_path}/nowhere is not a readable file on the controller",
                    "services.API.build: docker stack deploy builds nothing", "services.API: image is missing",
                    "services.WEB.imag: unknown key", "services.WEB.restart: Swarm ignores it: use deploy.restart_policy",
                    "services.WEB.configs: site is not declared under the top-level configs",
                    "services.WEB.ports: 80 is already published by the service WEB-proxy"):
        assert f"{file}: {message}" in said, said
    assert sh("manager1", "docker service ls --format '{{.Name}} {{.Image}} {{.Replicas}}'")[1] == before
