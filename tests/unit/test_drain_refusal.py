"""The swarm role's drain check (swarm_drain_refusal): Swarm's placement rules applied to the node list, so a drain
that would leave tasks no node is refused before anything changes."""

import pytest

from tests.conftest import load_plugin


@pytest.fixture(scope="module")
def refusal(root):
    return load_plugin(root / "plugins/filter/swarm.py", "swarm_filters").drain_refusal


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


@pytest.fixture(scope="module")
def inventory_refusal(root):
    return load_plugin(root / "plugins/filter/swarm.py", "swarm_filters").inventory_refusal


def host(name, node_id=None, availability=None, labels=None):
    """A host's vars as site.yml has them: its engine's read, and what the inventory says."""
    info = {"Name": name, "OSType": "linux", "Architecture": "x86_64", "Labels": ["disk=ssd"], "Swarm": {"NodeID": node_id or ""}}
    out = {"inventory_hostname": name, "swarm_host": {"host_info": info}}
    if availability:
        out["swarm_node_availability"] = availability
    if labels:
        out["swarm_node_labels"] = labels
    return out


def test_an_inventory_that_drains_every_node_is_refused(inventory_refusal):
    hosts = [host(n["ID"], n["ID"], "drain") for n in SWARM]
    said = inventory_refusal(SWARM, [service("WEB")], hosts, ["mestre"], [])
    assert said == "WEB no node to run on (no placement constraints; the nodes that would take tasks: none)"
    # One node left active is enough; so is a node that joins in this run, active, in place of those drained.
    assert inventory_refusal(SWARM, [service("WEB")], hosts[:2], ["mestre"], []) == ""
    assert inventory_refusal(SWARM, [service("WEB")], [*hosts, host("escravo3")], ["mestre"], []) == ""


def test_labels_roles_and_removals_the_inventory_asks_for(inventory_refusal):
    swarm = [node("mestre", "manager"), node("escravo1", labels={"zone": "a"}), node("escravo2")]
    pinned = service("DB", replicas=1, constraints=["node.labels.zone==a"])
    relabelled = [host("escravo1", "escravo1", labels={"zone": "b"})]
    assert inventory_refusal(swarm, [pinned], relabelled, ["mestre"], []).startswith("DB no node to run on (node.labels.zone==a;")
    assert inventory_refusal(swarm, [pinned], [host("escravo1", "escravo1")], ["mestre"], ["escravo1"]).startswith("DB no node")
    assert inventory_refusal(swarm, [pinned], [host("escravo2", "escravo2", labels={"zone": "a"}), *relabelled], ["mestre"], []) == ""
    managers_only = service("ADMIN", replicas=1, constraints=["node.role==manager"])
    assert inventory_refusal(SWARM, [managers_only], [host("mestre", "mestre")], [], []).startswith("ADMIN no node")  # demoted
    # A joining node is judged by its engine's read: its engine labels count.
    ssd = service("CACHE", replicas=1, constraints=["engine.labels.disk==ssd"])
    assert inventory_refusal(SWARM, [ssd], [host("escravo3")], ["mestre"], []) == ""


def test_an_inventory_that_leaves_too_few_nodes_for_one_task_each(inventory_refusal):
    said = inventory_refusal(SWARM, [service("WEB", max_per_node=1)], [host("escravo2", "escravo2", "drain")], ["mestre"], [])
    assert said == "1 of WEB's 3 tasks no node (at most 1 per node, 2 nodes would take them)"
    # Already short before: not this run's doing.
    assert inventory_refusal(SWARM, [service("WEB", replicas=5, max_per_node=1)], [host("mestre", "mestre")], ["mestre"], []) == ""


def test_replaced_labels_drop_the_ones_the_inventory_no_longer_lists(inventory_refusal):
    swarm = [node("mestre", "manager"), node("escravo1", labels={"zone": "a", "disk": "ssd"}), node("escravo2")]
    pinned = service("DB", replicas=1, constraints=["node.labels.disk==ssd"])
    merged = host("escravo1", "escravo1", labels={"zone": "a"})
    assert inventory_refusal(swarm, [pinned], [merged], ["mestre"], []) == ""  # merge keeps disk=ssd
    replaced = {**merged, "swarm_node_labels_state": "replace"}
    assert inventory_refusal(swarm, [pinned], [replaced], ["mestre"], []).startswith("DB no node to run on (node.labels.disk==ssd;")


@pytest.fixture(scope="module")
def pool_problems(root):
    return load_plugin(root / "plugins/filter/swarm.py", "swarm_filters").pool_problems


def facts(name, **networks):
    """A host's gathered facts with interfaces named after the keys, each on the network (CIDR) given."""
    ifaces = {}
    for iface, cidr in networks.items():
        net, bits = cidr.split("/")
        mask = ".".join(str((0xFFFFFFFF << (32 - int(bits)) >> i) & 0xFF) for i in (24, 16, 8, 0))
        ifaces[iface] = {"ipv4": {"address": net, "network": net, "netmask": mask}}
    return {"inventory_hostname": name, "ansible_facts": {"interfaces": [*networks, "lo"], **ifaces,
                                                          "lo": {"ipv4": {"network": "127.0.0.0", "netmask": "255.0.0.0"}}}}


def test_address_pools_that_cannot_work_are_named(pool_problems):
    hosts = [facts("m1", eth0="10.0.5.0/24", docker0="172.17.0.0/16"), facts("w1", eth0="10.0.5.0/24")]
    assert pool_problems([], 24, hosts) == []
    assert pool_problems(["10.20.0.0/16"], 24, hosts) == []
    assert pool_problems(["10.0.0.0/8"], 24, hosts) == [
        "swarm_default_addr_pool: 10.0.0.0/8 overlaps 10.0.5.0/24 on m1",
        "swarm_default_addr_pool: 10.0.0.0/8 overlaps 10.0.5.0/24 on w1",
    ]
    assert pool_problems(["172.16.0.0/12"], 24, hosts) == ["swarm_default_addr_pool: 172.16.0.0/12 overlaps 172.17.0.0/16 on m1"]
    assert pool_problems(["10.20.0.0/16"], 12, hosts) == [
        "swarm_default_addr_pool: 10.20.0.0/16 cannot hold /12 subnets (swarm_subnet_size from 16 to 29)"]
    assert pool_problems(["10.20.0.1/16"], 24, hosts)[0].startswith("swarm_default_addr_pool: '10.20.0.1/16' is not a network")


def with_cpus(n, cpus=2):
    return {**n, "Description": {**n["Description"], "Resources": {"NanoCPUs": cpus * 10**9, "MemoryBytes": 2**31}}}


def reserving(svc, cpus):
    svc["Spec"]["TaskTemplate"]["Resources"] = {"Reservations": {"NanoCPUs": int(cpus * 10**9)}}
    return svc


def test_cpu_reservations_weigh_a_drain(refusal):
    swarm = [with_cpus(n) for n in SWARM]
    # 3 tasks of 1.5 CPUs on three 2-CPU nodes: one each; two nodes hold two of them only.
    said = refusal(swarm, [reserving(service("DB"), 1.5)], "escravo1")
    assert said == ("1 of DB's tasks no node with the 1.5 CPUs they reserve free (--reserve-cpu; the nodes left would have "
                    "their CPUs reserved already)")
    assert refusal(swarm, [reserving(service("DB"), 1)], "escravo1") == ""  # 2 per node fit
    # A shortfall Swarm has already (pending tasks) is not the drain's doing.
    assert refusal(swarm, [reserving(service("DB", replicas=5), 1.5)], "escravo1").startswith("1 of DB's tasks")
    assert refusal(swarm, [reserving(service("AGENT", mode={"Global": {}}), 1.5), reserving(service("DB", replicas=1), 1)], "escravo1") == ""
