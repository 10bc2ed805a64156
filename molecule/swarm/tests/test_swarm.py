"""The swarm as `docker node ls` and `docker inspect` show it from the manager."""

import json

import pytest

testinfra_hosts = ["ansible://manager1"]


@pytest.fixture(scope="module")
def nodes(host):
    lines = host.check_output("docker node ls --format '{{json .}}'").splitlines()
    ls = {n["Hostname"]: n for n in map(json.loads, lines)}
    ids = " ".join(n["ID"] for n in ls.values())
    inspect = {n["Description"]["Hostname"]: n for n in json.loads(host.check_output(f"docker node inspect {ids}"))}
    return ls, inspect


def test_three_ready_nodes(nodes):
    ls, _ = nodes
    assert sorted(ls) == ["manager1", "worker1", "worker2"]
    assert all(n["Status"] == "Ready" for n in ls.values())


def test_one_leader_and_workers_are_workers(nodes):
    ls, inspect = nodes
    assert ls["manager1"]["ManagerStatus"] == "Leader"
    assert [h for h, n in ls.items() if n["ManagerStatus"]] == ["manager1"]
    assert inspect["worker1"]["Spec"]["Role"] == "worker"
    assert inspect["worker2"]["Spec"]["Role"] == "worker"


def test_labels_applied(nodes):
    _, inspect = nodes
    assert inspect["worker1"]["Spec"]["Labels"] == {"zone": "east", "disk": "ssd"}
    assert inspect["worker2"]["Spec"].get("Labels", {}) == {}


def test_drained_node(nodes):
    ls, _ = nodes
    assert ls["worker2"]["Availability"] == "Drain"
    assert ls["worker1"]["Availability"] == "Active"
