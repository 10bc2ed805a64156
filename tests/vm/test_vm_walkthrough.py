"""The whole walkthrough on 3 qemu VMs through the CLI, step by step as the walkthrough goes: its machines
(`lab up --driver vm --template walkthrough`: mestre, escravo1, and escravo2 with 512 MB and a 5000 MB disk),
engines and swarm, the nginx exercise through the routing mesh on every VM, update, rollback, drain escravo2
(it still answers), httpd with 5 replicas saying "It works!" on every VM, prune, `lab down`.

Marked slow: 21.8 minutes measured under TCG on 2 cores, beyond CI's budget beside the rest of the suite
(tests/vm/test_vm_lab.py runs there). Run it with `scripts/test -m slow tests/vm/test_vm_walkthrough.py`."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from swarmlab import lab as swarm_lab
from tests.http import page

pytestmark = [pytest.mark.vm, pytest.mark.slow]

CLI = str(Path(sys.executable).parent / "swarmlab")
NAMES = ("mestre", "escravo1", "escravo2")


def swarmlab(*args, timeout=3600):
    env = {**os.environ, "COLUMNS": "200"}
    return subprocess.run([CLI, *args], capture_output=True, text=True, timeout=timeout, env=env)


def ok(r):
    assert r.returncode == 0 and "Traceback" not in r.stderr, r.stdout + r.stderr
    return r


def checks(*args):
    r = swarmlab("check", "--json", *args)
    return r.returncode, json.loads(r.stdout)


def running(service):
    report = json.loads(ok(swarmlab("status", "--json")).stdout)
    [svc] = [s for s in report["services"] if s["name"] == service]
    return svc, sorted((t["node"], t["image"]) for t in svc["tasks"] if t["desired_state"] == "running" and t["state"] == "running")


def pages(port):
    return {n.name: page(f"http://{n.ip}:{port}/") for n in swarm_lab.vms()}


def ssh(name, command):
    [vm] = [n for n in swarm_lab.vms() if n.name == name]
    return subprocess.run([*swarm_lab.ssh_argv(vm), "-o", "BatchMode=yes", command], capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def lab(lab_images):
    r = swarmlab("lab", "up", "--driver", "vm", "--template", "walkthrough")
    yield r
    swarmlab("lab", "down")


def test_walkthrough_on_vms(lab):
    ok(lab)
    # Without KVM, one line says so and that the VMs will be slow.
    if (Path.home() / ".local/state/swarmlab/swarmlab/accel").read_text().strip() == "tcg":
        assert "warning: KVM cannot boot a guest on this host" in lab.stderr and "TCG" in lab.stderr, lab.stderr
    assert sorted((n.name, n.driver, n.role, n.state) for n in swarm_lab.vms()) == [
        ("escravo1", "vm", "worker", "running"), ("escravo2", "vm", "worker", "running"), ("mestre", "vm", "manager", "running")]
    # docker-machine create --virtualbox-memory 512 --virtualbox-disk-size 5000: the VM's own memory and disk.
    out = ssh("escravo2", "awk '/MemTotal/ {print int($2/1024)}' /proc/meminfo; df -BM --output=size / | tail -1")
    memory, disk = (int(v.strip().rstrip("M")) for v in out.stdout.split())
    assert 400 < memory <= 512 and 4500 < disk <= 5000, out.stdout + out.stderr

    ok(swarmlab("provision"))
    ok(swarmlab("deploy", "nginx"))
    web, _ = running("WEB")
    assert web["replicas"] == "3/3" and web["ports"] == ["85:80/tcp (ingress)"]  # the routing mesh, no proxy
    assert all("swarmlab nginx 1.12.1" in page for page in pages(85).values())
    rc, report = checks()
    assert rc == 0 and len([c for c in report["checks"] if c["check"] == "http"]) == 3

    ok(swarmlab("update", "WEB", "--image", "swarmlab/nginx:1.13.5"))
    assert all("swarmlab nginx 1.13.5" in page for page in pages(85).values())
    ok(swarmlab("rollback", "WEB"))
    assert all("swarmlab nginx 1.12.1" in page for page in pages(85).values())

    ok(swarmlab("drain", "escravo2"))
    _, tasks = running("WEB")
    assert len(tasks) == 3 and "escravo2" not in [node for node, _ in tasks]
    assert "swarmlab nginx 1.12.1" in pages(85)["escravo2"]  # no task there: the mesh routes to the others
    ok(swarmlab("activate", "escravo2"))

    ok(swarmlab("deploy", "httpd"))
    web, tasks = running("WEB")
    assert web["replicas"] == "5/5" and len(tasks) == 5
    assert all("It works!" in page for page in pages(80).values())
    rc, report = checks("httpd")
    assert rc == 0, report

    r = ok(swarmlab("prune"))
    assert all(name in r.stdout for name in NAMES)
    rc, report = checks("httpd")
    assert rc == 0, report


def test_down_stops_every_vm(lab):
    pids = [int(p.read_text()) for p in (Path.home() / ".local/state/swarmlab/swarmlab/vms").glob("*/pid")]
    ok(swarmlab("lab", "down"))
    assert len(pids) == 3 and not any(Path(f"/proc/{p}").exists() for p in pids)
    assert swarm_lab.vms() == []
