"""The verify role's check rows, from Docker API objects shaped as docker_swarm_info returns them."""

import pytest

from tests.conftest import load_plugin


@pytest.fixture(scope="module")
def verify(root):
    return load_plugin(root / "plugins/filter/verify.py", "verify_filters")


def node(ident, name, addr, availability="active", state="ready", manager=None):
    out = {"ID": ident, "Description": {"Hostname": name}, "Status": {"State": state, "Addr": addr}, "Spec": {"Availability": availability}}
    if manager:
        out["ManagerStatus"] = manager
    return out


NODES = [
    node("n1", "mestre", "0.0.0.0", manager={"Leader": True, "Reachability": "reachable", "Addr": "10.0.0.1:2377"}),
    node("n2", "escravo1", "10.0.0.2"),
    node("n3", "escravo2", "10.0.0.3", availability="drain"),
]


def service(ident, name, image, replicas=None, ports=()):
    mode = {"Replicated": {"Replicas": replicas}} if replicas is not None else {"Global": {}}
    return {"ID": ident, "Spec": {"Name": name, "Mode": mode, "TaskTemplate": {"ContainerSpec": {"Image": image}},
                                  "EndpointSpec": {"Ports": list(ports)}}}


def task(service_id, node_id, image, state="running", desired="running", err=None):
    status = {"State": state, **({"Err": err} if err else {})}
    return {"ServiceID": service_id, "NodeID": node_id, "DesiredState": desired, "Status": status, "Spec": {"ContainerSpec": {"Image": image}}}


HOST_PORT = {"PublishedPort": 85, "TargetPort": 85, "PublishMode": "host", "Protocol": "tcp"}


def test_nodes_ready_and_managers_reachable(verify):
    rows = verify.node_rows(NODES + [node("n4", "escravo3", "10.0.0.4", state="down")])
    assert [(r["target"], r["ok"]) for r in rows] == [("escravo1", True), ("escravo2", True), ("escravo3", False), ("mestre", True)]
    assert rows[3]["detail"] == "ready, active, leader"


def test_converged_service_and_global_proxy(verify):
    services = [service("s1", "WEB", "nginx:1.12.1@sha256:abc", replicas=2), service("s2", "WEB-proxy", "haproxy:2.6", ports=[HOST_PORT])]
    tasks = [task("s1", "n1", "nginx:1.12.1"), task("s1", "n2", "nginx:1.12.1"), task("s1", "n2", "nginx:1.12.0", state="shutdown", desired="shutdown"),
             task("s2", "n1", "haproxy:2.6"), task("s2", "n2", "haproxy:2.6")]
    rows = verify.service_rows(services, tasks, NODES, [{"name": "WEB", "image": "nginx:1.12.1", "replicas": 2}])
    assert [(r["target"], r["ok"], r["detail"]) for r in rows] == [
        ("WEB", True, "2/2 tasks running nginx:1.12.1"),
        ("WEB-proxy", True, "2/2 tasks running haproxy:2.6"),
    ]


def test_service_not_converged_names_the_tasks_error(verify):
    services = [service("s1", "BROKEN", "nope:1", replicas=2)]
    tasks = [task("s1", "n1", "nope:1", state="rejected", err="No such image: nope:1"), task("s1", "n2", "nope:1", state="preparing")]
    [row] = verify.service_rows(services, tasks, NODES)
    assert not row["ok"]
    assert row["detail"] == "0/2 tasks running nope:1; No such image: nope:1"


def test_specs_compare_image_replicas_and_presence(verify):
    services = [service("s1", "WEB", "nginx:1.13.5", replicas=3)]
    tasks = [task("s1", n, "nginx:1.13.5") for n in ("n1", "n2", "n1")]
    specs = [{"name": "WEB", "image": "nginx:1.12.1", "replicas": 3}, {"name": "DB", "image": "pg"}, {"name": "OLD", "image": "x", "state": "absent"}]
    rows = verify.service_rows(services, tasks, NODES, specs, {"WEB": "nginx:1.13.5"})
    assert [(r["target"], r["ok"]) for r in rows] == [("WEB", True), ("DB", False)]
    rows = verify.service_rows(services, tasks, NODES, specs[:1])
    assert rows[1]["detail"] == "runs nginx:1.13.5 x3, expected nginx:1.12.1 x3"


def test_http_targets_follow_where_the_port_is_bound(verify):
    ingress = dict(HOST_PORT, PublishMode="ingress", PublishedPort=80)
    services = [service("s1", "WEB", "nginx", replicas=2), service("s2", "WEB-proxy", "haproxy", ports=[HOST_PORT]),
                service("s3", "API", "api", replicas=1, ports=[ingress])]
    tasks = [task("s2", "n1", "haproxy"), task("s2", "n2", "haproxy"), task("s3", "n2", "api")]
    checks = [{"service": "WEB", "port": 85, "expect": "Welcome"}, {"service": "API", "port": 80, "expect": "ok"}, {"service": "WEB", "port": 99, "expect": "x"}]
    targets = verify.http_targets(services, tasks, NODES, checks)
    assert [(t["service"], t["node"], t["url"]) for t in targets] == [
        ("WEB", "escravo1", "http://10.0.0.2:85/"),
        ("WEB", "mestre", "http://10.0.0.1:85/"),
        ("API", "escravo1", "http://10.0.0.2:80/"),
        ("API", "escravo2", "http://10.0.0.3:80/"),
        ("API", "mestre", "http://10.0.0.1:80/"),
        ("WEB", "", ""),
    ]
    results = [{"item": targets[0], "status": 200, "content": "<h1>Welcome</h1>"}, {"item": targets[1], "status": 200, "content": "hello"},
               {"item": targets[2], "status": -1, "msg": "Connection refused"}, {"item": targets[5], "skipped": True}]
    rows = verify.http_rows(results)
    assert [r["ok"] for r in rows] == [True, False, False, False]
    assert "'Welcome' not in the page" in rows[1]["detail"]
    assert rows[2]["detail"] == "http://10.0.0.2:80/: Connection refused"
    assert rows[3]["detail"] == "port 99 is not published by WEB or WEB-proxy"


def test_a_first_answer_that_falls_short_is_asked_again_and_rows_keep_the_targets_order(verify):
    targets = [{"service": "WEB", "port": 85, "expect": "Welcome", "node": n, "url": f"http://{ip}:85/"}
               for n, ip in (("escravo1", "10.0.0.2"), ("escravo2", "10.0.0.3"), ("mestre", "10.0.0.1"))]
    targets.append({"service": "WEB", "port": 99, "expect": "x", "node": "", "url": ""})
    # The url lookup's page per target: the page, another page, no answer (None); the last had no URL to ask.
    pages = [{"item": targets[0], "ansible_facts": {"verify_page": "<h1>Welcome</h1>"}},
             {"item": targets[1], "ansible_facts": {"verify_page": "starting"}},
             {"item": targets[2], "ansible_facts": {"verify_page": None}},
             {"item": targets[3], "skipped": True}]
    first = verify.http_first(targets, pages)
    assert [sorted(f) for f in first] == [["first", "item"], ["again", "item"], ["again", "item"], ["item"]]
    again = [{"item": targets[1], "status": 200, "content": "<h1>Welcome</h1>"}, {"item": targets[2], "status": -1, "msg": "refused"}]
    rows = verify.http_rows(first, again)
    assert [(r["target"], r["ok"], r["detail"]) for r in rows] == [
        ("WEB:85 on escravo1", True, "HTTP 2xx from http://10.0.0.2:85/, 'Welcome' found"),
        ("WEB:85 on escravo2", True, "200 from http://10.0.0.3:85/, 'Welcome' found"),
        ("WEB:85 on mestre", False, "http://10.0.0.1:85/: refused"),
        ("WEB:99 on no node", False, "port 99 is not published by WEB or WEB-proxy"),
    ]
    # With no exercise, any 2xx page passes at the first request (the lookup fails on any other status).
    target = dict(targets[0], expect="")
    assert verify.http_first([target], [{"item": target, "ansible_facts": {"verify_page": ""}}]) == [{"item": target, "first": True}]


def test_with_no_exercise_every_published_port_must_answer(verify):
    udp = dict(HOST_PORT, PublishedPort=53, Protocol="udp")
    services = [service("s1", "WEB", "nginx", replicas=2), service("s2", "WEB-proxy", "haproxy", ports=[HOST_PORT]),
                service("s3", "DNS", "dns", replicas=1, ports=[udp]), service("s4", "LONE-proxy", "x", replicas=1, ports=[dict(HOST_PORT, PublishedPort=90)])]
    assert verify.published_expectations(services) == [
        {"service": "LONE-proxy", "port": 90, "expect": ""},
        {"service": "WEB", "port": 85, "expect": ""},
    ]
    target = {"service": "WEB", "port": 85, "expect": "", "node": "mestre", "url": "http://10.0.0.1:85/"}
    rows = verify.http_rows([{"item": target, "status": 404}, {"item": target, "status": 503}, {"item": target, "status": -1, "msg": "refused"}])
    assert [(r["ok"], r["detail"]) for r in rows] == [
        (True, "HTTP 404 from http://10.0.0.1:85/"),
        (False, "http://10.0.0.1:85/: HTTP 503"),
        (False, "http://10.0.0.1:85/: refused"),
    ]


def test_status_lists_nodes_and_tasks_like_node_ls_and_service_ps(verify):
    services = [service("s1", "WEB", "nginx:1.13.5", replicas=2, ports=[HOST_PORT])]
    tasks = [dict(task("s1", "n2", "nginx:1.13.5"), Slot=1), dict(task("s1", "n1", "nginx:1.13.5"), Slot=2),
             dict(task("s1", "n2", "nginx:1.12.1", state="shutdown", desired="shutdown"), Slot=1)]
    nodes = [dict(n, Spec={**n["Spec"], "Role": "manager" if n.get("ManagerStatus") else "worker"}) for n in NODES]
    out = verify.status(services, tasks, nodes)
    assert [(n["name"], n["role"], n["manager_status"], n["address"]) for n in out["nodes"]] == [
        ("mestre", "manager", "leader", "10.0.0.1"), ("escravo1", "worker", "", "10.0.0.2"), ("escravo2", "worker", "", "10.0.0.3")]
    [web] = out["services"]
    assert (web["replicas"], web["ports"]) == ("2/2", ["85:85/tcp (host)"])
    assert [(t["name"], t["node"], t["image"], t["desired_state"]) for t in web["tasks"]] == [
        ("WEB.1", "escravo1", "nginx:1.13.5", "running"), ("WEB.1", "escravo1", "nginx:1.12.1", "shutdown"), ("WEB.2", "mestre", "nginx:1.13.5", "running")]


def test_a_global_service_constrained_to_workers_is_converged_with_a_task_on_each_worker(verify):
    nodes = [
        {"ID": "m", "Description": {"Hostname": "manager1"}, "Spec": {"Role": "manager", "Availability": "active"},
         "Status": {"State": "ready", "Addr": "172.30.0.2"}},
        {"ID": "w", "Description": {"Hostname": "worker1"}, "Spec": {"Role": "worker", "Availability": "active"},
         "Status": {"State": "ready", "Addr": "172.30.0.3"}},
    ]
    agent = {"ID": "s", "Spec": {"Name": "agent", "Mode": {"Global": {}},
                                 "TaskTemplate": {"ContainerSpec": {"Image": "agent:1@sha256:" + "b" * 64},
                                                  "Placement": {"Constraints": ["node.role==worker"]}}}}
    task = {"ServiceID": "s", "NodeID": "w", "DesiredState": "running",
            "Status": {"State": "running"}, "Spec": {"ContainerSpec": {"Image": "agent:1@sha256:" + "b" * 64}}}
    rows = verify.service_rows([agent], [task], nodes)
    assert rows == [{"check": "service", "target": "agent", "ok": True, "detail": "1/1 tasks running agent:1"}]
    # `swarmlab status` counts it the same way (it counted every active node).
    assert verify.status([agent], [task], nodes)["services"][0]["replicas"] == "1/1"
