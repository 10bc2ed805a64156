"""The engine and swarm playbooks over SSH as a non-root user with sudo: the way they reach real VMs."""

import json
from pathlib import Path

import docker
import pytest
import yaml

from swarmlab.runner import run_playbook
from tests.nodes import engine_start, hosts_of

pytestmark = pytest.mark.docker

LAB = "it-ssh"
SUBNET = "172.30.22.0/24"
NODES = [{"name": "vm1", "role": "manager"}, {"name": "vm2", "role": "worker"}]


def test_site_over_ssh_with_become(make_lab):
    events = []
    inventory = make_lab(LAB, SUBNET, NODES, on_event=events.append)
    # New nodes made their user, key and sudo rule at first boot (from their environment): the play only waited.
    assert hosts_of(events, "runner_on_skipped", "Keep the SSH user, its key and sudo on a node that lived before this run") == {"vm1", "vm2"}
    # Their host keys came with the boot wait's answer (ssh.service makes them at boot): no separate read.
    assert hosts_of(events, "runner_on_skipped", "Read the node's host key, which it did not have at boot") == {"vm1", "vm2"}
    ssh_inventory = inventory.with_name("hosts-ssh.yml")
    spec = yaml.safe_load(ssh_inventory.read_text())["all"]
    assert spec["vars"]["ansible_user"] == "swarmlab" and spec["vars"]["ansible_become"] is True
    assert "ansible_connection" not in spec["vars"]  # plain SSH, as for a VM
    # Host keys are checked against the lab's known_hosts, where lab up recorded each node's key.
    assert spec["vars"]["ansible_host_key_checking"] is True
    assert "StrictHostKeyChecking=yes" in spec["vars"]["ansible_ssh_common_args"]
    known = Path(spec["vars"]["ansible_ssh_common_args"].split("UserKnownHostsFile=")[1].split()[0]).read_text()
    assert sorted(line.split()[0] for line in known.splitlines()) == sorted(h["ansible_host"] for h in [
        *spec["children"]["managers"]["hosts"].values(), *spec["children"]["workers"]["hosts"].values()])

    events = []
    result = run_playbook("site", ssh_inventory, on_event=events.append)
    assert result.ok, result.failures or result.error
    assert set(result.stats) == {"vm1", "vm2"}
    # daemon.json came after the install: both engines restarted, together, as neither was in a swarm yet
    # (swarm members restart one at a time: test_swarm).
    assert hosts_of(events, "runner_on_ok", "Restart docker") == {"vm1", "vm2"}
    starts = [engine_start(f"{LAB}-{n}") for n in ("vm1", "vm2")]
    assert abs(starts[0] - starts[1]) < 1.0, starts

    rc, out = docker.from_env().containers.get(f"{LAB}-vm1").exec_run(
        ["docker", "node", "ls", "--format", "{{json .}}"]
    )
    nodes = [json.loads(line) for line in out.decode().splitlines()]
    assert rc == 0 and sorted(n["Hostname"] for n in nodes) == ["vm1", "vm2"]
    assert all(n["Status"] == "Ready" for n in nodes)


def test_a_node_that_lived_on_gets_its_access_back(make_lab):
    # Drift on a node the lab made in an earlier run: its key and sudo rule gone. The next `lab up` sees a node
    # that lived before this run and applies the access tasks to it.
    node = docker.from_env().containers.get(f"{LAB}-vm2")
    rc, _ = node.exec_run(["rm", "-f", "/etc/sudoers.d/swarmlab", "/home/swarmlab/.ssh/authorized_keys"])
    assert rc == 0
    events = []
    inventory = make_lab(LAB, SUBNET, NODES, on_event=events.append)
    assert hosts_of(events, "runner_on_ok", "Create the SSH user") == {"vm1", "vm2"}
    changed = {e["event_data"]["host"] for e in events if e["event"] == "runner_on_ok"
               and e["event_data"].get("task") in ("Allow the lab's key", "Give the user sudo without a password")
               and e["event_data"]["res"].get("changed")}
    assert changed == {"vm2"}

    result = run_playbook(Path(__file__).parent / "playbooks" / "become.yml", inventory.with_name("hosts-ssh.yml"))
    assert result.ok, result.failures or result.error
