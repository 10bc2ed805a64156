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
