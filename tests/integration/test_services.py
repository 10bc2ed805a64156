"""The walkthrough's nginx exercise on a 3-node lab: deploy, HTTP from every node, rolling update,
rollback; and the failures an operator must see clearly."""

import json

import docker
import pytest
import requests
import yaml

from swarmlab.runner import run_playbook

pytestmark = pytest.mark.docker

LAB = "it-svc"
# manager1 also publishes its port 85 on the host's loopback, as a browser on the host would use it.
NODES = [{"name": "manager1", "role": "manager", "ports": ["18085:85"]}, {"name": "worker1", "role": "worker"}, {"name": "worker2", "role": "worker"}]


def sh(node, cmd):
    rc, out = docker.from_env().containers.get(f"{LAB}-{node}").exec_run(["sh", "-c", cmd])
    return rc, out.decode()


def pages(port):
    ips = [docker.from_env().containers.get(f"{LAB}-{n['name']}").attrs["NetworkSettings"]["Networks"][LAB]["IPAddress"] for n in NODES]
    out = {}
    for ip in ips:
        r = requests.get(f"http://{ip}:{port}/", timeout=5)
        assert r.status_code == 200
        out[ip] = r.text
    return out


def running_images(service):
    rc, out = sh("manager1", f"docker service ps -f desired-state=running --format '{{{{json .}}}}' {service}")
    assert rc == 0, out
    tasks = [json.loads(line) for line in out.splitlines()]
    return [(t["Image"], t["CurrentState"].split()[0]) for t in tasks]


@pytest.fixture(scope="module")
def lab(make_lab, root):
    inventory = make_lab(LAB, "172.30.23.0/24", NODES)
    result = run_playbook("site", inventory)
    assert result.ok, result.failures or result.error
    return inventory


@pytest.fixture(scope="module")
def nginx_vars(root):
    return yaml.safe_load((root / "exercises/nginx.yml").read_text())


def test_deploy_serves_from_every_node(lab, nginx_vars):
    result = run_playbook("services", lab, nginx_vars)
    assert result.ok, result.failures or result.error
    assert running_images("WEB") == [("swarmlab/nginx:1.12.1", "Running")] * 3
    assert all("swarmlab nginx 1.12.1" in page for page in pages(85).values())
    r = requests.get("http://127.0.0.1:18085/", timeout=5)
    assert r.status_code == 200 and "swarmlab nginx 1.12.1" in r.text


def test_second_deploy_changes_nothing(lab, nginx_vars):
    result = run_playbook("services", lab, nginx_vars)
    assert result.ok and result.changed == 0, result.stats


def test_rolling_update_then_rollback(lab, nginx_vars):
    result = run_playbook("update", lab, {**nginx_vars, "service": "WEB", "image": "swarmlab/nginx:1.13.5"})
    assert result.ok, result.failures or result.error
    assert running_images("WEB") == [("swarmlab/nginx:1.13.5", "Running")] * 3
    assert all("swarmlab nginx 1.13.5" in page for page in pages(85).values())

    result = run_playbook("rollback", lab, {"service": "WEB"})
    assert result.ok, result.failures or result.error
    assert running_images("WEB") == [("swarmlab/nginx:1.12.1", "Running")] * 3
    assert all("swarmlab nginx 1.12.1" in page for page in pages(85).values())


def test_missing_image_fails_with_the_tasks_error(lab):
    spec = {"swarm_services_specs": [{"name": "BROKEN", "image": "swarmlab/nope:1", "replicas": 2}], "swarm_services_converge_timeout": 16}
    try:
        result = run_playbook("services", lab, spec)
        assert not result.ok
        [failure] = result.failures
        assert failure.host == "manager1"
        assert "BROKEN did not converge within 16 s" in failure.message
        assert "No such image: swarmlab/nope:1" in failure.message
    finally:
        run_playbook("services", lab, {"swarm_services_specs": [{"name": "BROKEN", "image": "x", "state": "absent"}]})


def test_host_mode_that_cannot_fit_changes_nothing(lab):
    spec = {"swarm_services_specs": [{"name": "TOOMANY", "image": "swarmlab/nginx:1.12.1", "replicas": 4, "ports": [{"published": 86, "target": 80}]}]}
    result = run_playbook("services", lab, spec)
    assert not result.ok
    assert "TOOMANY wants 4 replicas" in result.failures[0].message
    assert sh("manager1", "docker service inspect TOOMANY")[0] != 0
