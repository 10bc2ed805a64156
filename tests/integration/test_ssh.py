"""The engine and swarm playbooks over SSH as a non-root user with sudo: the way they reach real VMs."""

import json
from pathlib import Path

import docker
import pytest
import yaml

from swarmlab.runner import run_playbook

pytestmark = pytest.mark.docker

LAB = "it-ssh"


def test_site_over_ssh_with_become(make_lab):
    inventory = make_lab(LAB, "172.30.22.0/24", [{"name": "vm1", "role": "manager"}, {"name": "vm2", "role": "worker"}])
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

    result = run_playbook("site", ssh_inventory)
    assert result.ok, result.failures or result.error
    assert set(result.stats) == {"vm1", "vm2"}

    rc, out = docker.from_env().containers.get(f"{LAB}-vm1").exec_run(
        ["docker", "node", "ls", "--format", "{{json .}}"]
    )
    nodes = [json.loads(line) for line in out.decode().splitlines()]
    assert rc == 0 and sorted(n["Hostname"] for n in nodes) == ["vm1", "vm2"]
    assert all(n["Status"] == "Ready" for n in nodes)
