"""The collection's shared Swarm model (plugins/module_utils/swarm_model.py), which verify, the wait module, the
drain check and the spec checks all use."""

from ansible_collections.swarmlab.swarm.plugins.module_utils import swarm_model as m


def node(name, role="worker", state="ready", availability="active", addr="172.30.0.9", labels=None, manager_addr=None):
    n = {
        "ID": f"id-{name}",
        "Description": {"Hostname": name, "Platform": {"OS": "linux", "Architecture": "x86_64"}},
        "Spec": {"Role": role, "Availability": availability, "Labels": labels or {}},
        "Status": {"State": state, "Addr": addr},
    }
    if manager_addr:
        n["ManagerStatus"] = {"Addr": manager_addr, "Leader": True, "Reachability": "reachable"}
    return n


def service(name, mode, constraints=None):
    return {"Spec": {"Name": name, "Mode": mode, "TaskTemplate": {"Placement": {"Constraints": constraints or []}}}}


def test_image_name_drops_the_digest_swarm_pins():
    assert m.image_name("nginx:1.12.1@sha256:" + "a" * 64) == "nginx:1.12.1"
    assert m.image_name("registry:5000/team/app:2") == "registry:5000/team/app:2"
    assert m.image_name(None) == ""


def test_a_manager_reporting_no_address_is_known_by_its_raft_address():
    assert m.node_addr(node("m1", addr="0.0.0.0", manager_addr="172.30.0.2:2377")) == "172.30.0.2"
    assert m.node_addr(node("w1", addr="172.30.0.3")) == "172.30.0.3"


def test_proxy_names_go_both_ways():
    assert m.proxy_name("WEB") == "WEB-proxy"
    assert m.proxied("WEB-proxy", {"WEB", "WEB-proxy"}) == "WEB"
    assert m.proxied("WEB-proxy", {"OTHER"}) is None  # a service of the user's that only ends so
    assert m.proxied("WEB", {"WEB"}) is None


def test_a_global_service_wants_a_task_on_every_node_its_placement_allows():
    nodes = [
        node("m1", role="manager"),
        node("w1", labels={"monitor": "yes"}),
        node("w2", labels={"monitor": "YES"}),  # Swarm compares values case-insensitively
        node("w3", availability="drain", labels={"monitor": "yes"}),
        node("w4", state="down", labels={"monitor": "yes"}),
    ]
    assert m.tasks_wanted(service("agent", {"Global": {}}), nodes) == 3
    assert m.tasks_wanted(service("agent", {"Global": {}}, ["node.role==worker"]), nodes) == 2
    assert m.tasks_wanted(service("agent", {"Global": {}}, ["node.labels.monitor==yes", "node.hostname!=w2"]), nodes) == 1
    assert m.tasks_wanted(service("agent", {"Global": {}}, ["node.labels.nothing==x"]), nodes) == 0


def test_a_replicated_service_wants_its_replicas_wherever_they_may_run():
    nodes = [node("w1")]
    assert m.tasks_wanted(service("WEB", {"Replicated": {"Replicas": 5}}), nodes) == 5
    assert m.tasks_wanted(service("WEB", {"Replicated": {"Replicas": 0}}), nodes) == 0


def test_node_ip_constraints_take_an_address_or_a_network():
    n = node("w1", addr="10.1.2.3")
    assert m.node_matches(["node.ip==10.1.0.0/16"], n)
    assert not m.node_matches(["node.ip!=10.1.2.3"], n)
    assert not m.node_matches(["node.ip==not-an-address"], n)
