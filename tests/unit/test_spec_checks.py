"""Service specs and live requests are checked in full before anything changes: one message per problem."""

import pytest

from tests.conftest import load_plugin


@pytest.fixture(scope="module")
def checks(root):
    return load_plugin(root / "plugins/filter/swarm_services.py", "swarm_services_filters")


WEB = {"name": "WEB", "image": "nginx:1.12.1", "replicas": 3, "ports": [{"published": 85, "target": 80}]}
OTHER = {"Spec": {"Name": "API", "EndpointSpec": {"Ports": [{"PublishedPort": 8080, "TargetPort": 80}]}}}


@pytest.mark.parametrize(
    "image",
    ["nginx", "nginx:1.13.5", "swarmlab/nginx:1.12.1", "registry.example.com:5000/team/app_x:v1.2-rc",
     "nginx@sha256:" + "a" * 64, "localhost/a__b/c-d:latest"],
)  # fmt: skip
def test_images_docker_accepts(checks, image):
    assert checks.image_problem(image) == ""


@pytest.mark.parametrize("image", ["", "Nginx", "nginx:", "nginx::1", "ng inx", "nginx:1 ", "-nginx", "a" * 256, 12, None])
def test_images_docker_refuses(checks, image):
    assert "is not an image reference Docker accepts" in checks.image_problem(image)


def test_a_good_spec_has_no_problem(checks):
    assert checks.spec_problems([WEB, {"name": "API", "image": "httpd", "ports": [{"published": 8080, "target": 80}]}], [OTHER]) == []


def test_every_problem_is_named_with_its_service_and_field(checks):
    specs = [
        {**WEB, "replicas": "3x"},
        {"name": "bad name", "image": "Nginx"},
        {"name": "WEB", "image": "nginx", "ports": [{"published": 70000, "target": 0, "protocol": "sctp", "mode": "mesh"}]},
        {"name": "API2", "image": "httpd", "ports": [{"published": 8080, "target": 80}, {"published": 85, "target": 80}]},
        "just a string",
        {"name": "x" * 58, "image": "nginx"},
        {"name": "NOIMAGE"},
        {"name": "HUGE", "image": "nginx", "replicas": 10000},
    ]
    problems = checks.spec_problems(specs, [OTHER], 100)
    assert problems == [
        'Service WEB: name appears 2 times in the specs; give each service once',
        'Service WEB: replicas must be a whole number of 0 or more (got "3x")',
        "Service bad name: name must be a DNS label: letters, digits and inner '-', 1-57 characters (its proxy adds '-proxy')",
        'Service bad name: image "Nginx" is not an image reference Docker accepts ([registry/]name[:tag][@digest], '
        "lower-case name, e.g. nginx:1.13.5)",
        "Service WEB: name appears 2 times in the specs; give each service once",
        'Service WEB: ports: published must be a port number 1-65535 (got "70000")',
        'Service WEB: ports: target must be a port number 1-65535 (got "0")',
        'Service WEB: ports: protocol must be tcp or udp (got "sctp")',
        'Service WEB: ports: mode must be ingress, host or proxy (got "mesh")',
        "Service API2: published port 8080 is already taken by the service API (docker service ls)",
        "Service API2: published port 85 is also published by WEB in these specs",
        "spec 5: not a mapping with name and image (got 'just a string')",
        f"Service {'x' * 58}: name must be a DNS label: letters, digits and inner '-', 1-57 characters (its proxy adds '-proxy')",
        "Service NOIMAGE: image is missing",
        "Service HUGE: 10000 replicas are more than the 100 swarm_services_max_replicas allows (a cap the inventory sets, "
        "e.g. for its nodes' memory); lower the replicas or add nodes",
    ]


def test_a_service_redeployed_keeps_its_own_ports_and_its_proxys(checks):
    running = [{"Spec": {"Name": "WEB", "EndpointSpec": {"Ports": []}}}, {"Spec": {"Name": "WEB-proxy", "EndpointSpec": {"Ports": [{"PublishedPort": 85}]}}}]
    assert checks.spec_problems([WEB], running) == []


def test_a_removed_service_is_not_checked_further(checks):
    assert checks.spec_problems([{"name": "OLD", "image": "x", "state": "absent"}]) == []


@pytest.mark.parametrize(("replicas", "ok"), [(0, True), ("5", True), (100, True), (101, False), (-1, False), ("many", False), (True, False)])
def test_replicas(checks, replicas, ok):
    assert (checks.replicas_problem(replicas, 100) == "") is ok
    assert (checks.replicas_problem(replicas, "") == "") is (ok or replicas == 101)


def test_ports_through_the_routing_mesh(checks):
    specs = [
        {"name": "WEB", "ports": [{"published": 85, "target": 80}, {"published": 86, "target": 80, "mode": "host"}]},
        {"name": "API", "ports": [{"published": 90, "target": 80, "mode": "ingress"}]},
        {"name": "OLD", "state": "absent", "ports": [{"published": 95, "target": 80}]},
        {"name": "BARE"},
    ]
    assert checks.ingress_ports(specs, "ingress") == [85, 90]
    assert checks.ingress_ports(specs, "proxy") == [90]  # a port's own mode wins


# A two-tier application's specs: every field a real one uses, with what they refer to declared.
APP = [
    {"name": "front", "image": "nginx:1.13.5", "replicas": 2, "networks": ["app"], "ports": [{"published": 8080, "target": 80}],
     "configs": [{"source": "site", "target": "/etc/nginx/sites-enabled/default", "mode": "0444"}],
     "secrets": ["token"], "limits": {"cpus": 0.5, "memory": "64M"}, "reservations": {"cpus": 0.1},
     "restart_config": {"condition": "on-failure", "delay": "2s", "max_attempts": 3, "window": "1m30s"},
     "labels": {"tier": "front"}, "logging": {"driver": "json-file", "options": {"max-size": "10m"}}},
    {"name": "back", "image": "httpd", "networks": [{"name": "app", "aliases": ["api"]}], "command": ["httpd-foreground"],
     "args": ["-X"], "mounts": [{"type": "volume", "source": "data", "target": "/srv"}, {"type": "tmpfs", "target": "/tmp"},
                               {"type": "bind", "source": "/etc/hostname", "target": "/host", "readonly": True}],
     "env": ["MODE=prod"]},
    {"name": "agent", "image": "httpd", "mode": "global", "placement": {"constraints": ["node.role == worker"]}},
]  # fmt: skip
DECLARED = {"networks": [{"name": "app", "attachable": True}], "secrets": [{"name": "token", "value": "s3cret"}],
            "configs": [{"name": "site", "value": "server {}"}]}  # fmt: skip


def test_an_application_using_every_field_has_no_problem(checks):
    assert checks.spec_problems(APP, [], "", **DECLARED) == []


def test_every_field_problem_is_one_line_naming_the_service_and_field(checks, tmp_path):
    specs = [
        {"name": "a", "image": "x", "mode": "global", "replicas": 2, "command": 5, "args": "-X", "labels": {"a": {"b": 1}},
         "limits": {"cpus": 0, "memory": "lots"}, "reservations": {"gpus": 1}, "volumes": ["data:/srv"]},
        {"name": "b", "image": "x", "mode": "daemon", "networks": ["nowhere"], "secrets": ["nope", {"source": "token", "mode": "rw"}],
         "configs": [{"source": "gone"}], "mounts": [{"type": "bind", "source": "rel", "target": "srv"}, {"type": "volume", "target": "/d"}],
         "restart_config": {"condition": "always", "delay": "soon", "max_attempts": -1},
         "logging": {"driver": "json-file", "options": {"max-file": 3}}},
    ]  # fmt: skip
    declared = {
        "networks": [{"name": "app", "encrypted": "yes", "mtu": 1400}],
        "secrets": [{"name": "token", "value": "s", "file": "/x"}, {"name": "k", "file": str(tmp_path / "missing")}],
        "configs": [{"name": "gone", "value": "x", "state": "absent"}, {"name": "bad name", "value": 1}],
    }
    problems = checks.spec_problems(specs, [], "", **declared)
    assert problems == [
        'swarm_services_networks app: unknown key mtu (known: name, attachable, encrypted, internal, labels, state)',
        'swarm_services_networks app: encrypted must be true or false (got "yes")',
        "swarm_services_secrets token: give exactly one of value (the content) or file (a file on the controller)",
        f'swarm_services_secrets k: file "{tmp_path}/missing" is not a readable file on the controller (give an absolute path)',
        "swarm_services_configs bad name: name must be letters, digits and inner '_', '.' or '-', 1-56 characters",
        "swarm_services_configs bad name: value must be a string (quote it)",
        "Service a: unknown field volumes (known: args, command, configs, env, healthcheck, image, labels, limits, logging, "
        "mode, mounts, name, networks, placement, ports, replicas, reservations, restart_config, rollback_config, secrets, "
        "state, update_config)",
        "Service a: a global service runs one task on every node its placement allows: drop replicas, or use mode: replicated",
        "Service a: command must be a string or a list of strings (the entrypoint, --entrypoint)",
        "Service a: args must be a list of strings (the arguments after the image)",
        "Service a: labels must be a mapping of names to strings (quote numbers)",
        'Service a: limits: cpus must be a number above 0, e.g. 0.5 (got "0")',
        'Service a: limits: memory must be a size such as 64M or 1G (got "lots")',
        "Service a: reservations must be a mapping with cpus and memory",
        'Service b: mode must be replicated or global (got "daemon")',
        "Service b: networks: nowhere is not in swarm_services_networks (declare it there: the role creates it)",
        "Service b: secrets: nope is not in swarm_services_secrets (declare it there with a value or a file)",
        'Service b: secrets: token: mode must be a file mode such as "0440" (got "rw")',
        "Service b: configs: gone is not in swarm_services_configs (declare it there with a value or a file)",
        'Service b: mounts: target must be an absolute path in the container (got "srv")',
        'Service b: mounts: srv: a bind mount\'s source is an absolute path on the node (got "rel")',
        "Service b: mounts: /d: a volume mount needs a source (a volume name)",
        'Service b: restart_config: condition must be none, on-failure or any (got "always")',
        'Service b: restart_config: delay must be a duration such as 5s or 1m30s (got "soon")',
        'Service b: restart_config: max_attempts must be a whole number (got "-1")',
        'Service b: logging: options must be a mapping of names to strings (quote numbers: max-file: "3")',
    ]


def test_secret_and_config_references_become_the_modules_with_the_current_version(checks):
    args = checks.task_args(APP[0], {"secrets": {"token": "token_v3"}, "configs": {"site": "site_v1"}})
    assert args["secrets"] == [{"secret_name": "token_v3", "filename": "token"}]
    assert args["configs"] == [{"config_name": "site_v1", "filename": "/etc/nginx/sites-enabled/default", "mode": 0o444}]
    assert checks.task_args(APP[1])["mounts"][1] == {"type": "tmpfs", "target": "/tmp"}
    assert "mode" not in args and checks.task_args(APP[2])["mode"] == "global"


def cpu_node(nid, role="worker"):
    return {"ID": nid, "Spec": {"Role": role, "Availability": "active", "Labels": {}}, "Status": {"State": "ready", "Addr": "10.0.0.1"},
            "Description": {"Hostname": nid, "Platform": {"OS": "linux", "Architecture": "x86_64"}, "Engine": {"Labels": {}},
                            "Resources": {"NanoCPUs": 2 * 10**9}}}


def test_cpu_reservations_that_no_node_has_free_are_refused_before_anything_changes(checks):
    nodes = [cpu_node("m", "manager"), cpu_node("w1"), cpu_node("w2")]
    busy = {"Spec": {"Name": "DB", "Mode": {"Replicated": {"Replicas": 2}}, "TaskTemplate": {"Resources": {"Reservations": {"NanoCPUs": 15 * 10**8}}}}}
    api = {"name": "api", "image": "httpd", "replicas": 3, "reservations": {"cpus": 1}}
    # DB holds 1.5 of two nodes' 2 CPUs: the third takes two of api's tasks.
    assert checks.spec_problems([api], [busy], "", nodes=nodes) == [
        "Service api: 1 of its tasks would find no node with the 1 CPUs each reserves free (3 nodes may take them, 6 CPUs in "
        "all, some reserved by other services); lower reservations.cpus or the replicas, or add nodes"
    ]
    assert checks.spec_problems([{**api, "replicas": 2}], [], "", nodes=nodes) == []
    # Redeployed, the service's own tasks are not counted twice.
    assert checks.spec_problems([{**api, "name": "DB", "replicas": 6}], [busy], "", nodes=nodes) == []


def test_a_refused_login_names_the_registry_and_docker_s_reason_never_the_password(checks):
    result = {"item": {"registry": "reg:5000", "username": "ops", "password": "s3cr3t-pw"}, "failed": False,
              "msg": "Logging into reg:5000 for user ops failed - 401 Unauthorized (sent s3cr3t-pw)"}
    line = checks.login_refusal(result)
    assert line.startswith("reg:5000 as ops: Logging into reg:5000") and "401 Unauthorized" in line
    assert "s3cr3t-pw" not in line
