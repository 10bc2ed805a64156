"""The swarm role's drain check (swarm_drain_refusal): Swarm's placement rules applied to the node list, so a drain
that would leave tasks no node is refused before anything changes."""

import pytest

from tests.conftest import load_plugin


@pytest.fixture(scope="module")
def refusal(root):
    return load_plugin(root / "roles/swarm/filter_plugins/swarm.py", "swarm_filters").drain_refusal


def node(nid, role="worker", availability="active", state="ready", labels=None, arch="x86_64", addr=None, engine_labels=None):
    return {"ID": nid, "Spec": {"Role": role, "Availability": availability, "Labels": labels or {}},
            "Description": {"Hostname": nid, "Platform": {"OS": "linux", "Architecture": arch},
                            "Engine": {"Labels": engine_labels or {}}},
            "Status": {"State": state, "Addr": addr or f"10.0.0.{len(nid)}"}}


def service(name, replicas=3, constraints=(), max_per_node=0, host_port=None, platforms=(), mode=None):
    placement = {"Constraints": list(constraints), "MaxReplicas": max_per_node, "Platforms": list(platforms)}
    spec = {"Name": name, "Mode": mode or {"Replicated": {"Replicas": replicas}}, "TaskTemplate": {"Placement": placement}}
    if host_port:
        spec["EndpointSpec"] = {"Ports": [{"Protocol": "tcp", "TargetPort": 80, "PublishedPort": host_port, "PublishMode": "host"}]}
    return {"ID": name.lower(), "Spec": spec}


SWARM = [node("mestre", "manager"), node("escravo1"), node("escravo2")]


def test_a_drain_that_leaves_nodes_for_every_task_is_allowed(refusal):
    assert refusal(SWARM, [service("WEB"), service("PROXY", mode={"Global": {}})], "escravo1") == ""


def test_no_other_node_that_takes_tasks(refusal):
    swarm = [node("mestre", "manager"), node("escravo1", availability="pause"), node("escravo2", state="down")]
    said = refusal(swarm, [service("WEB"), service("IDLE", replicas=0), service("PROXY", mode={"Global": {}})], "mestre")
    assert said == "no node that takes tasks (escravo1 is pause and ready, escravo2 is active and down), and PROXY, WEB could run nowhere"
    assert refusal([node("mestre", "manager")], [service("WEB")], "mestre").startswith("no node that takes tasks (it is the only node)")


def test_a_node_already_drained_or_down_or_no_service_with_tasks_is_no_reason(refusal):
    swarm = [node("mestre", "manager", availability="drain"), node("escravo1", availability="drain")]
    assert refusal(swarm, [service("WEB")], "mestre") == ""
    assert refusal([node("mestre", "manager")], [service("WEB", replicas=0)], "mestre") == ""
    # A node that is down (the first one drains) runs nothing the drain could strand.
    assert refusal([node("mestre", "manager"), node("escravo1", state="down")], [service("WEB")], "escravo1") == ""
    assert refusal(SWARM[:2] + [node("escravo2", state="down")], [service("DB", replicas=1, constraints=["node.hostname==escravo2"])], "escravo2") == ""


def test_constraints_that_only_the_drained_node_meets(refusal):
    said = refusal(SWARM, [service("DB", replicas=1, constraints=["node.role == manager"])], "mestre")
    assert said == "DB no node its placement allows (node.role == manager; the other nodes that take tasks: escravo1, escravo2)"
    # A service the drained node could not run anyway is not its concern.
    assert refusal(SWARM, [service("APP", constraints=["node.role==worker"])], "mestre") == ""
    # Global services too: its one task would stop and none would run anywhere.
    assert refusal(SWARM, [service("AGENT", mode={"Global": {}}, constraints=["node.hostname==mestre"])], "mestre").startswith("AGENT no node")


def test_constraints_as_swarm_reads_them(refusal):
    swarm = [node("a", labels={"Zone": "east"}, addr="10.1.0.5", engine_labels={"disk": "ssd"}), node("b", labels={"zone": "west"}, addr="10.2.0.5")]
    blocked = lambda constraints: refusal(swarm, [service("S", replicas=1, constraints=constraints)], "a") != ""  # noqa: E731
    assert blocked(["node.labels.Zone==EAST"])  # values compare case-insensitively, label names do not
    assert not blocked(["node.labels.zone!=east"])  # b: zone is west
    assert blocked(["node.ip==10.1.0.0/16"]) and not blocked(["node.ip!=10.1.0.5"])
    assert blocked(["engine.labels.disk==ssd"]) and not blocked(["node.platform.os==linux", "node.hostname!=a"])
    assert not blocked(["node.colour==red"])  # a key Swarm does not know matches no node: a neither, so nothing of S runs there


def test_at_most_so_many_tasks_per_node(refusal):
    assert refusal(SWARM, [service("WEB", max_per_node=1)], "escravo2") == "1 of WEB's 3 tasks no node (at most 1 per node, 2 other nodes would take them)"
    assert refusal(SWARM, [service("WEB", max_per_node=2)], "escravo2") == ""
    # A port published on each node's own address: one task per node.
    assert refusal(SWARM, [service("WEB", host_port=8080)], "escravo2").startswith("1 of WEB's 3 tasks no node (at most 1 per node")


def test_platforms(refusal):
    swarm = [node("a", arch="aarch64"), node("b", arch="x86_64")]
    assert refusal(swarm, [service("S", replicas=1, platforms=[{"OS": "linux", "Architecture": "arm64"}])], "a") == (
        "S no node its placement allows (its platforms linux/arm64; the other nodes that take tasks: b)")
    assert refusal(swarm, [service("S", replicas=1, platforms=[{"OS": "linux", "Architecture": "amd64"}, {"OS": "linux", "Architecture": "arm64"}])], "a") == ""
