"""swarm_firewall: ufw on nodes whose ufw denies everything incoming: without it the worker's join is refused
(the control: ufw really blocks); with it the swarm forms, overlay traffic flows between the nodes, only the
swarm's networks are let in, and a published port answers although ufw has no rule for it (Docker's rules come
first). The tests run in file order."""

import re

import docker
import pytest

from swarmlab import api
from swarmlab.runner import run_playbook
from tests.http import page

pytestmark = pytest.mark.docker

LAB = "it-fw"
SUBNET = "172.30.29.0/24"
NODES = [{"name": "manager1", "role": "manager"}, {"name": "worker1", "role": "worker"}]
UFW = {"swarm_firewall": "ufw", "swarm_firewall_from": [SUBNET]}


def sh(node, cmd):
    rc, out = docker.from_env().containers.get(f"{LAB}-{node}").exec_run(["sh", "-c", cmd])
    assert rc == 0, out.decode()
    return out.decode()


@pytest.fixture(scope="module")
def lab(make_lab):
    inventory = make_lab(LAB, SUBNET, NODES, lab_nodes_ready=True)
    result = run_playbook("docker", inventory)  # the engines, and apt through the lab's package cache
    assert result.ok, result.failures or result.error
    for node in ("manager1", "worker1"):  # as on a locked-down server: nothing comes in unless allowed
        # A ready-made node has no package lists (nor has a fresh cloud image): apt-get update first, as an admin would.
        sh(node, "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ufw >/dev/null"
                 " && ufw default deny incoming && ufw --force enable")
    return inventory


def test_without_the_rules_ufw_keeps_the_worker_out(lab):
    result = run_playbook("swarm", lab)
    assert not result.ok
    [failure] = [f for f in result.failures if f.host == "worker1"]
    assert "worker1 cannot reach the swarm's leader at" in failure.message and "2377/tcp" in failure.message


def test_ufw_rules_let_the_swarm_form(lab):
    result = run_playbook("swarm", lab, UFW)
    assert result.ok, result.failures or result.error
    nodes = sh("manager1", "docker node ls --format '{{.Hostname}} {{.Status}}'").split("\n")
    assert sorted(n for n in nodes if n) == ["manager1 Ready", "worker1 Ready"]


def ufw_rules(node):
    """`ufw status`: whether it is active, and its rules as (port, action, from)."""
    out = sh(node, "ufw status")
    rows = out.split("\n--")[-1].splitlines()[1:] if "\n--" in out else []
    return "Status: active" in out, {tuple(re.split(r"\s{2,}", row.split("#")[0].strip())) for row in rows if row.strip()}


def test_only_the_swarm_networks_get_the_swarm_ports(lab):
    swarm = {(port, "ALLOW", SUBNET) for port in ("7946/tcp", "7946/udp", "4789/udp")}
    assert ufw_rules("manager1") == (True, swarm | {("2377/tcp", "ALLOW", SUBNET)})
    assert ufw_rules("worker1") == (True, swarm)  # cluster management is a manager's port


def test_services_run_across_the_nodes_and_published_ports_bypass_ufw(lab):
    # The proxy on each node reaches tasks on the other over the overlay network (4789/udp, 7946).
    result = run_playbook("services", lab, {**api.exercise("nginx"), "swarm_services_specs": [
        {**api.exercise("nginx")["swarm_services_specs"][0], "replicas": 1, "placement": {"constraints": ["node.role == manager"]}}]})
    assert result.ok, result.failures or result.error
    ip = docker.from_env().containers.get(f"{LAB}-worker1").attrs["NetworkSettings"]["Networks"][LAB]["IPAddress"]
    # worker1 runs no WEB task and ufw has no rule for 85: Docker's own rules publish it regardless.
    assert not any(rule[0].startswith("85") for rule in ufw_rules("worker1")[1])
    assert "swarmlab nginx 1.12.1" in page(f"http://{ip}:85/")


def test_a_second_run_changes_nothing(lab):
    result = run_playbook("swarm", lab, UFW)
    assert result.ok and result.changed == 0, result.changes


def test_ufw_without_the_networks_says_what_to_set(lab):
    result = run_playbook("swarm", lab, {"swarm_firewall": "ufw"})
    assert not result.ok
    assert "swarm_firewall: ufw needs swarm_firewall_from" in result.failures[0].message
