"""A lab with its own private registry (lab_nodes_registry, `swarmlab up --registry`): TLS from a lab CA every node
trusts, htpasswd authentication, the exercises' images pushed there and pulled by the nodes by digest, as a fleet
pulls. A wrong password or a missing login fails fast with the registry's reason and changes nothing."""

import json
import stat
import time
from pathlib import Path

import docker
import pytest
import requests
import yaml

from swarmlab.runner import run_playbook as _run_playbook
from tests import nodes
from tests.http import page

pytestmark = pytest.mark.docker

LAB = "it-reg"
NODES = [{"name": "manager1", "role": "manager"}, {"name": "worker1", "role": "worker"}, {"name": "worker2", "role": "worker"}]
REGISTRY = f"{LAB}-registry:5000"
EVENTS: list[dict] = []


def run_playbook(*args, **kwargs):
    return _run_playbook(*args, on_event=EVENTS.append, **kwargs)


def sh(node, cmd):
    return nodes.sh(LAB, node, cmd)


def ip(name):
    return docker.from_env().containers.get(f"{LAB}-{name}").attrs["NetworkSettings"]["Networks"][LAB]["IPAddress"]


def pages():
    return {n["name"]: page(f"http://{ip(n['name'])}:85/", timeout=5) for n in NODES}


def web():
    """WEB's image as its spec pins it, and the image ID each node's running WEB container has."""
    image = sh("manager1", "docker service inspect WEB --format '{{.Spec.TaskTemplate.ContainerSpec.Image}}'")[1].strip()
    ids = {n["name"]: set(sh(n["name"], "docker ps -q --filter label=com.docker.swarm.service.name=WEB "
                                        "| xargs -r docker inspect --format '{{.Image}}'")[1].split()) for n in NODES}
    return image, ids


@pytest.fixture(scope="module")
def lab(make_lab, root):
    nginx = yaml.safe_load((root / "exercises/nginx.yml").read_text())
    # lab/up.yml: the nodes with the registry, their engines and swarm, the nginx exercise pushed, pulled and checked.
    return make_lab(LAB, "172.30.35.0/24", NODES, playbook="lab/up", on_event=EVENTS.append,
                    lab_nodes_ready=True, lab_nodes_registry=True, **nginx)


@pytest.fixture(scope="module")
def state():
    return Path.home() / ".local/state/swarmlab" / LAB / "registry"


def test_nodes_pull_the_exercise_from_the_registry_by_digest_with_a_login(lab, state):
    image, ids = web()
    # Resolved to the registry's digest: every task runs the same build, on every node the same image ID.
    assert image.startswith(f"{REGISTRY}/swarmlab/nginx:1.12.1@sha256:"), image
    assert all(len(found) == 1 for found in ids.values()) and len(set.union(*ids.values())) == 1, ids
    assert all("swarmlab nginx 1.12.1" in p for p in pages().values())
    # TLS from the lab's CA, and no image without a login.
    registry_ip = docker.from_env().containers.get(f"{LAB}-registry").attrs["NetworkSettings"]["Networks"][LAB]["IPAddress"]
    assert requests.get(f"https://{registry_ip}:5000/v2/", verify=str(state / "ca.crt"), timeout=5).status_code == 401
    assert sh("worker1", f"test -s /etc/docker/certs.d/{REGISTRY}/ca.crt")[0] == 0
    for secret in ("password", "ca.key", "tls/registry.key", "auth/htpasswd"):
        assert stat.S_IMODE((state / secret).stat().st_mode) == 0o600, secret
    # The password is in no event; the control: the same search finds the registry's name, and the login's own task.
    dump = json.dumps(EVENTS)
    assert REGISTRY in dump and "Log in to the private registries" in dump
    assert (state / "password").read_text().strip() not in dump


def test_the_inventory_names_the_password_file_not_the_password(lab, state):
    inventory = Path(lab).read_text()
    assert str(state / "password") in inventory
    assert (state / "password").read_text().strip() not in inventory


def test_a_re_pushed_tag_rolls_on_update_and_the_same_digest_changes_nothing(lab):
    before, _ = web()
    # Another build under the same tag, pushed from the manager (logged in by the deploy).
    rc, out = sh("manager1", f"docker tag swarmlab/nginx:1.13.5 {REGISTRY}/swarmlab/nginx:1.12.1 && docker push {REGISTRY}/swarmlab/nginx:1.12.1")
    assert rc == 0, out
    vars_ = {"service": "WEB", "image": f"{REGISTRY}/swarmlab/nginx:1.12.1"}
    result = run_playbook("update", lab, vars_)
    assert result.ok and result.changed > 0, result.failures or result.error
    after, ids = web()
    assert after != before and after.startswith(f"{REGISTRY}/swarmlab/nginx:1.12.1@sha256:"), (before, after)
    assert len(set.union(*ids.values())) == 1, ids
    assert all("swarmlab nginx 1.13.5" in p for p in pages().values())
    again = run_playbook("update", lab, vars_)
    assert again.ok and again.changed == 0, again.changes
    # The previous spec (what a rollback returns to) is still the one before the roll.
    previous = sh("manager1", "docker service inspect WEB --format '{{.PreviousSpec.TaskTemplate.ContainerSpec.Image}}'")[1].strip()
    assert previous == before


def test_a_wrong_password_fails_fast_with_the_registrys_reason_and_changes_nothing(lab):
    before, _ = web()
    wrong = "wrong-password-7c1e"
    started = time.monotonic()
    result = run_playbook("services", lab, {"swarm_services_specs": [{"name": "WEB", "image": f"{REGISTRY}/swarmlab/nginx:1.13.5",
                                                                      "replicas": 3, "ports": [{"published": 85, "target": 80}]}],
                                            "swarm_services_registries": [{"registry": REGISTRY, "username": "swarmlab", "password": wrong}]})
    assert not result.ok and time.monotonic() - started < 30
    message = "; ".join(str(f) for f in result.failures)
    assert REGISTRY in message and "401 Unauthorized" in message, message
    assert wrong not in json.dumps(EVENTS)
    assert web()[0] == before
    assert all("Welcome to nginx!" in p for p in pages().values())


def test_without_a_login_the_deploy_fails_fast_with_the_registrys_reason(lab):
    before, _ = web()
    rc, out = sh("manager1", f"docker logout {REGISTRY}")
    assert rc == 0, out
    started = time.monotonic()
    # The fleet's playbook (the lab's would push first, with the login): a service the registry will not give.
    result = run_playbook("services", lab, {"swarm_services_specs": [{"name": "NOAUTH", "image": f"{REGISTRY}/swarmlab/httpd:2.4", "replicas": 2}],
                                            "swarm_services_registries": []})
    assert not result.ok and time.monotonic() - started < 30
    message = "; ".join(str(f) for f in result.failures)
    assert REGISTRY in message and "no basic auth credentials" in message, message
    assert "NOAUTH" not in sh("manager1", "docker service ls --format '{{.Name}}'")[1].split()
    assert web()[0] == before
