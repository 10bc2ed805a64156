"""The README's main command, as a user runs it: `swarmlab up`, then `lab ls`, HTTP from every node, `lab down`."""

import os
import subprocess
import sys
from pathlib import Path

import docker
import pytest
import requests

pytestmark = pytest.mark.docker

CLI = str(Path(sys.executable).parent / "swarmlab")


def swarmlab(*args, timeout=1200):
    env = {**os.environ, "COLUMNS": "200"}
    return subprocess.run([CLI, *args], capture_output=True, text=True, timeout=timeout, env=env)


@pytest.fixture(scope="module")
def lab(root, lab_images):
    r = swarmlab("up")
    yield r
    swarmlab("lab", "down")


def test_up_ends_with_a_serving_lab(lab, root):
    assert lab.returncode == 0, lab.stdout + lab.stderr
    assert "Traceback" not in lab.stderr
    urls = [w for w in lab.stdout.split() if w.startswith("http://") and w.endswith(":85/")]
    assert len(urls) == 3
    for url in urls:
        r = requests.get(url, timeout=5)
        assert r.status_code == 200 and "swarmlab nginx 1.12.1" in r.text
    assert (root / "inventory/lab/hosts.yml").exists()


def test_lab_ls_lists_the_nodes(lab):
    r = swarmlab("lab", "ls")
    assert r.returncode == 0
    for name in ("manager1", "worker1", "worker2"):
        assert name in r.stdout


def test_errors_are_one_clear_line(lab):
    r = swarmlab("lab", "shell", "escravo9")
    assert r.returncode == 1 and "no lab node 'escravo9'" in r.stderr and "Traceback" not in r.stderr
    r = swarmlab("rollback", "NOPE")
    assert r.returncode == 1 and "No service NOPE in this swarm" in r.stderr
    r = swarmlab("deploy", "nosuch")
    assert r.returncode == 1 and "no exercise 'nosuch'" in r.stderr


def test_down_removes_everything(lab, root):
    r = swarmlab("lab", "down")
    assert r.returncode == 0, r.stderr
    left = docker.from_env().containers.list(all=True, filters={"label": "org.swarmlab.lab=swarmlab"})
    assert left == []
    assert not (root / "inventory/lab/hosts.yml").exists()
