"""Growing a fleet one node at a time with --limit, as ops teams do: the join reads the managers and tokens
from the swarm itself, not from facts of hosts outside the limit; a node that cannot reach the leader's
swarm port is refused before the join, naming the ports a swarm needs. The tests run in file order."""

import json
from pathlib import Path

import docker
import pytest

from swarmlab.runner import run_playbook

pytestmark = pytest.mark.docker

LAB = "it-grow"
SUBNET = "172.30.25.0/24"
MANAGER1 = {"name": "manager1", "role": "manager"}
WORKER1 = {"name": "worker1", "role": "worker"}
WORKER2 = {"name": "worker2", "role": "worker"}
MANAGER2 = {"name": "manager2", "role": "manager"}


def sh(node, cmd):
    rc, out = docker.from_env().containers.get(f"{LAB}-{node}").exec_run(["sh", "-c", cmd])
    return rc, out.decode()


def node_ls():
    rc, out = sh("manager1", "docker node ls --format '{{json .}}'")
    assert rc == 0, out
    return {n["Hostname"]: (n["Status"], n["ManagerStatus"]) for n in map(json.loads, out.splitlines())}


@pytest.fixture(scope="module")
def grow(make_lab):
    """Adds nodes to the lab (lab up with the longer list), then runs site.yml limited to the new ones."""

    def add(nodes, limit):
        inventory = make_lab(LAB, SUBNET, nodes, lab_nodes_ready=True)
        return run_playbook("site", inventory, limit=limit)

    return add


def test_a_one_manager_swarm(make_lab):
    # Lab and swarm in one run, as `up` makes them, with engine settings the ready-made image was not made with:
    # the fresh node gets the docker_engine role in full, not the engine check alone.
    events = []
    options = {"features": {"containerd-snapshotter": False}, "max-concurrent-downloads": 2}
    book = Path(__file__).parent / "playbooks" / "lab_swarm.yml"
    make_lab(LAB, SUBNET, [MANAGER1], playbook=book, on_event=events.append, lab_nodes_ready=True, lab_nodes_daemon_options=options)
    ran = {e["event_data"].get("task") for e in events if e["event"] == "runner_on_ok" and e["event_data"].get("host") == "manager1"}
    assert "Find which of the engine packages are installed" in ran
    assert json.loads(sh("manager1", "cat /etc/docker/daemon.json")[1]) == options
    assert node_ls() == {"manager1": ("Ready", "Leader")}


def test_a_worker_joins_with_limit(grow):
    result = grow([MANAGER1, WORKER1], "worker1")
    assert result.ok, result.failures or result.error
    assert set(result.stats) == {"worker1"}
    assert node_ls() == {"manager1": ("Ready", "Leader"), "worker1": ("Ready", "")}


def test_a_node_that_cannot_reach_the_leader_is_refused_before_joining(grow):
    # A firewall on the leader drops the swarm port: the preflight names the node, the address and the ports.
    assert sh("manager1", "iptables -I INPUT -p tcp --dport 2377 -j DROP")[0] == 0
    try:
        result = grow([MANAGER1, WORKER1, WORKER2], "worker2")
    finally:
        sh("manager1", "iptables -D INPUT -p tcp --dport 2377 -j DROP")
    assert not result.ok
    [failure] = result.failures
    ip = docker.from_env().containers.get(f"{LAB}-manager1").attrs["NetworkSettings"]["Networks"][LAB]["IPAddress"]
    assert failure.host == "worker2"
    for part in (f"worker2 cannot reach the swarm's leader at {ip}:2377", "2377/tcp", "7946/tcp and 7946/udp", "4789/udp"):
        assert part in failure.message, failure.message
    assert sh("worker2", "docker info --format '{{.Swarm.LocalNodeState}}'")[1].strip() == "inactive"


def test_a_second_manager_and_the_refused_worker_join_with_limit(grow):
    result = grow([MANAGER1, WORKER1, WORKER2, MANAGER2], "manager2,worker2")
    assert result.ok, result.failures or result.error
    assert node_ls() == {
        "manager1": ("Ready", "Leader"), "manager2": ("Ready", "Reachable"), "worker1": ("Ready", ""), "worker2": ("Ready", "")}
