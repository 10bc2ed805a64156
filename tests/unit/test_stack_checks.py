"""Compose files are read and checked on the controller before a stack changes: each problem named with the file and
the key; variables are read there; and the lab's form of a stack publishes its ports through a proxy in the stack."""

import pytest
import yaml

from tests.conftest import load_plugin


@pytest.fixture(scope="module")
def stacks(root):
    return load_plugin(root / "plugins/filter/swarm_stack.py", "swarm_stack_filters")


def write(tmp_path, data):
    file = tmp_path / "compose.yml"
    file.write_text(yaml.safe_dump(data) if isinstance(data, dict) else data)
    return str(file)


GOOD = {
    "version": "3.8",
    "services": {"web": {"image": "${IMAGE:-nginx:1.12.1}", "ports": ["8080:80"], "secrets": ["pw"], "networks": ["front"],
                         "deploy": {"replicas": 2}, "command": "echo $$HOME"},
                 "db": {"image": "postgres:16", "networks": ["front"], "deploy": {"mode": "global"}}},
    "networks": {"front": {"driver": "overlay"}},
    "secrets": {"pw": {"file": "pw.txt"}},
    "x-note": "extensions are kept",
}  # fmt: skip


def test_a_good_file_is_read_with_its_variables_and_its_files(stacks, tmp_path):
    (tmp_path / "pw.txt").write_text("s3cret")
    read = stacks.compose(write(tmp_path, GOOD), "shop", [], {}, {"IMAGE": "registry:5000/web:2"})
    assert read["problems"] == []
    assert read["images"] == ["postgres:16", "registry:5000/web:2"]
    assert read["files"] == {"secrets": {"pw": str(tmp_path / "pw.txt")}, "configs": {}}
    # docker stack deploy interpolates the file once more: a $ that is left stays one.
    assert read["compose"]["services"]["web"]["command"] == "echo $$HOME"
    assert stacks.compose(write(tmp_path, GOOD), "shop", [], {}, {})["images"][0] == "nginx:1.12.1"


def test_every_problem_is_named_with_the_file_and_the_key(stacks, tmp_path):
    bad = {
        "version": "2.4",
        "volumes": {"data": {"drivr": "local"}},
        "secrets": {"gone": {"external": True}, "vague": {}},
        "services": {"web": {"imag": "nginx", "build": ".", "ports": ["85:80", "nonsense"], "deploy": {"mode": "daemon", "replica": 2},
                             "configs": ["site"]},
                     "api": {"image": "Bad Image", "ports": [{"target": 80, "published": 85}, "${PORT}:80"]}},
        "extra": 1,
    }  # fmt: skip
    taken = [{"Spec": {"Name": "other", "EndpointSpec": {"Ports": [{"PublishedPort": 85}]}}}]
    file = write(tmp_path, bad)
    assert stacks.compose(file, "shop", taken, {"secrets": [], "configs": []}, {})["problems"] == [
        f"{file}: ${{PORT}} is not set (give it in the environment or in swarm_services_stack_env)",
        f'{file}: version: "2.4" is not a Compose file format docker stack deploy reads (3.0 to 3.9)',
        f"{file}: extra: unknown top-level key (known: configs, networks, secrets, services, version, volumes, and x-* extensions)",
        f"{file}: secrets.gone: external secret gone does not exist in the swarm (docker secret ls); create it first",
        f"{file}: secrets.vague: give file (read on the controller) or external: true",
        f"{file}: volumes.data.drivr: unknown key (known: driver, driver_opts, external, labels, name)",
        f'{file}: services.api.image: "Bad Image" is not an image reference Docker accepts',
        f'{file}: services.api.ports: ":80" is not a port Compose reads (e.g. "8080:80" or {{target: 80, published: 8080}})',
        f"{file}: services.api.ports: 85 is already published by the service other (docker service ls)",
        f"{file}: services.web.build: docker stack deploy builds nothing: build and push the image, then name it in image",
        f"{file}: services.web.imag: unknown key",
        f"{file}: services.web: image is missing (docker stack deploy builds nothing)",
        f"{file}: services.web.deploy.replica: unknown key (known: endpoint_mode, labels, max_replicas_per_node, mode, placement, "
        "replicas, resources, restart_policy, rollback_config, update_config)",
        f'{file}: services.web.deploy.mode: must be replicated or global (got "daemon")',
        f"{file}: services.web.configs: site is not declared under the top-level configs",
        f'{file}: services.web.ports: "nonsense" is not a port Compose reads (e.g. "8080:80" or {{target: 80, published: 8080}})',
        f"{file}: services.web.ports: 85 is also published by services.api",
    ]
    assert stacks.compose(str(tmp_path / "none.yml"), "shop")["problems"] == [
        f"{tmp_path}/none.yml: cannot be read (No such file or directory); give the Compose file's path on the controller"]
    assert stacks.compose(write(tmp_path, "services: [a"), "shop")["problems"][0].startswith(f"{file}: not a YAML file")


def test_the_stacks_own_services_keep_their_ports(stacks, tmp_path):
    mine = [{"Spec": {"Name": "shop_web", "Labels": {"com.docker.stack.namespace": "shop"}, "EndpointSpec": {"Ports": [{"PublishedPort": 8080}]}}}]
    (tmp_path / "pw.txt").write_text("x")
    assert stacks.compose(write(tmp_path, GOOD), "shop", mine)["problems"] == []


def test_where_nodes_lack_ipvs_a_proxy_in_the_stack_publishes_the_ports(stacks, tmp_path):
    (tmp_path / "pw.txt").write_text("x")
    data = stacks.compose(write(tmp_path, GOOD), "shop")["compose"]
    assert stacks.proxied(data, "shop", "ingress") == []
    proxies = stacks.proxied(data, "shop", "proxy")
    assert proxies == [{"service": "web", "name": "shop_web", "replicas": 2, "ports": [{"published_port": 8080, "target_port": 80, "protocol": "tcp"}]}]
    out = stacks.for_swarm(data, "shop", {"secrets": {"pw": "shop_pw_v3"}}, proxies, "haproxy:2.6", {"shop_web": "shop_web-proxy_v1"})
    assert out["secrets"]["pw"] == {"external": True, "name": "shop_pw_v3"}
    assert out["services"]["web"]["ports"] == [] and out["services"]["web"]["deploy"]["endpoint_mode"] == "dnsrr"
    assert out["services"]["db"]["deploy"]["endpoint_mode"] == "dnsrr"  # a virtual IP needs IPVS
    proxy = out["services"]["web-proxy"]
    assert proxy["ports"] == [{"target": 8080, "published": 8080, "protocol": "tcp", "mode": "host"}]
    assert proxy["networks"] == ["front"] and proxy["deploy"]["mode"] == "global"
    assert out["configs"]["web-proxy"] == {"external": True, "name": "shop_web-proxy_v1"}
    assert stacks.for_swarm(data, "shop", {}, [], "haproxy:2.6", {}) == data  # the file as written where nodes have IPVS
