"""The README's main command, as a user runs it: `swarmlab up`, then the walkthrough's steps through the CLI
(check, update, rollback, drain, activate, prune), HTTP from every node, `lab down`."""

import json
import os
import re
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import docker
import pytest
import requests

from tests import ui_server
from tests.docker_fixtures import image_builds

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
    assert "Watch it live: swarmlab ui" in lab.stdout


def test_ui_reads_the_lab_it_made(lab):
    proc, url = ui_server.start()
    try:
        view = ui_server.first_snapshot(url)
    finally:
        rc, out = ui_server.stop(proc)
    assert view["ok"], view["error"]
    assert sorted(n["name"] for n in view["nodes"]) == ["manager1", "worker1", "worker2"]
    assert [(s["name"], s["running"], s["desired"]) for s in view["services"]] == [("WEB", 3, 3)]
    assert rc == 0 and "swarmlab ui stopped" in out, out


def test_lab_ls_lists_the_nodes(lab):
    r = swarmlab("lab", "ls")
    assert r.returncode == 0
    for name in ("manager1", "worker1", "worker2"):
        assert name in r.stdout


def test_up_again_only_checks_an_unchanged_lab_and_repairs_a_changed_one(lab):
    client = docker.from_env()
    r = swarmlab("up")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "lab unchanged since its last checked run" in r.stderr, r.stderr
    assert "✓ checks" in r.stderr and "lab nodes" not in r.stderr and "services (nginx)" not in r.stderr
    assert "8 of 8 checks passed" in r.stdout

    # Changed by hand behind swarmlab's back: a service on the manager, a role's file on a worker.
    manager, worker1 = client.containers.get("swarmlab-manager1"), client.containers.get("swarmlab-worker1")
    assert manager.exec_run("docker service scale --detach WEB=1").exit_code == 0
    assert worker1.exec_run("rm /etc/apt/apt.conf.d/01swarmlab-proxy").exit_code == 0
    r = swarmlab("up")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "full run: manager1, worker1 changed since the last checked run" in r.stderr, r.stderr
    assert "✓ lab nodes, engines and swarm, services (nginx), checks" in r.stderr
    assert worker1.exec_run("test -s /etc/apt/apt.conf.d/01swarmlab-proxy").exit_code == 0
    _, tasks = running(status(), "WEB")
    assert len(tasks) == 3

    r = swarmlab("up")  # the repaired lab was recorded again
    assert r.returncode == 0 and "lab unchanged since its last checked run" in r.stderr, r.stderr


def checks(*args):
    r = swarmlab("check", "--json", *args)
    assert "Traceback" not in r.stderr
    return r.returncode, json.loads(r.stdout)


def pages(urls):
    return [requests.get(u, timeout=5).text for u in urls]


def status():
    r = swarmlab("status", "--json")
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def running(report, service):
    [svc] = [s for s in report["services"] if s["name"] == service]
    return svc, sorted((t["node"], t["image"]) for t in svc["tasks"] if t["desired_state"] == "running" and t["state"] == "running")


def test_walkthrough_steps_through_the_cli(lab):
    urls = [w for w in lab.stdout.split() if w.startswith("http://") and w.endswith(":85/")]
    report = status()
    assert [(n["name"], n["role"], n["status"]) for n in report["nodes"]] == [
        ("manager1", "manager", "ready"), ("worker1", "worker", "ready"), ("worker2", "worker", "ready")]
    web, tasks = running(report, "WEB")
    assert web["replicas"] == "3/3" and [image for _, image in tasks] == ["swarmlab/nginx:1.12.1"] * 3
    rc, report = checks()
    assert rc == 0 and report["ok"]
    assert {(c["check"], c["ok"]) for c in report["checks"]} == {("node", True), ("service", True), ("http", True)}
    assert len([c for c in report["checks"] if c["check"] == "http"]) == 3

    r = swarmlab("update", "WEB", "--image", "swarmlab/nginx:1.13.5")
    assert r.returncode == 0, r.stderr
    assert all("swarmlab nginx 1.13.5" in p for p in pages(urls))
    # What is deployed checks out; the nginx exercise's spec names 1.12.1: check reports the difference and exits 1.
    rc, report = checks()
    assert rc == 0 and [c["detail"] for c in report["checks"] if c["target"] == "WEB"] == ["3/3 tasks running swarmlab/nginx:1.13.5"]
    rc, report = checks("nginx")
    assert rc == 1 and not report["ok"]
    assert [c["detail"] for c in report["checks"] if not c["ok"]] == ["runs swarmlab/nginx:1.13.5 x3, expected swarmlab/nginx:1.12.1 x3"]

    # docker service ps and logs, read through a manager as the UI reads it.
    tasks = json.loads(swarmlab("ps", "WEB", "--json").stdout)
    assert sorted((t["slot"], t["image"], t["desired"]) for t in tasks if not t["old"]) == [
        (slot, "swarmlab/nginx:1.13.5", "running") for slot in (1, 2, 3)], tasks
    assert {t["image"] for t in tasks if t["old"]} == {"swarmlab/nginx:1.12.1"}  # the history the update left
    running_only = json.loads(swarmlab("ps", "WEB", "--running", "--json").stdout)
    assert sorted(t["id"] for t in running_only) == sorted(t["id"] for t in tasks if t["desired"] == "running")
    follow = subprocess.Popen([CLI, "logs", "WEB", "--tail", "0", "--follow"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(3)  # the stream is open before the requests
        pages(urls)
        assert select.select([follow.stdout], [], [], 30)[0], "no log line within 30 s"
        first = follow.stdout.readline()
        assert re.match(r"WEB\.[123]\.\w{12}@(manager1|worker1|worker2) \| .*\"GET / HTTP/1\.1\" 200", first), first
    finally:
        follow.send_signal(signal.SIGINT)
        assert follow.wait(timeout=20) == 0, follow.stderr.read()
    logged = swarmlab("logs", "WEB", "--tail", "20").stdout.splitlines()
    assert {line.split("@")[1].split(" ")[0] for line in logged if '"GET / HTTP/1.1" 200' in line} <= {"manager1", "worker1", "worker2"}
    assert len(logged) >= 3, logged

    r = swarmlab("rollback", "WEB")
    assert r.returncode == 0, r.stderr
    assert all("swarmlab nginx 1.12.1" in p for p in pages(urls))

    r = swarmlab("scale", "WEB", "5")
    assert r.returncode == 0, r.stderr
    web, tasks = running(status(), "WEB")
    assert web["replicas"] == "5/5" and len(tasks) == 5
    assert swarmlab("scale", "WEB", "3").returncode == 0

    r = swarmlab("drain", "worker2")
    assert r.returncode == 0, r.stderr
    _, tasks = running(status(), "WEB")
    assert len(tasks) == 3 and "worker2" not in [node for node, _ in tasks]
    rc, report = checks()
    assert rc == 0, report
    assert {c["target"]: c["detail"] for c in report["checks"]}["worker2"] == "ready, drain, worker"
    r = swarmlab("activate", "worker2")
    assert r.returncode == 0, r.stderr

    r = swarmlab("prune")
    assert r.returncode == 0, r.stderr
    assert all(name in r.stdout for name in ("manager1", "worker1", "worker2")) and "MiB" in r.stdout
    rc, report = checks()
    assert rc == 0, report


def one_line_error(r, *parts):
    assert r.returncode == 1, r.stdout + r.stderr
    assert "Traceback" not in r.stderr
    [line] = [line for line in r.stderr.splitlines() if line.startswith("swarmlab:")]
    for part in parts:
        assert part in line, line


def test_errors_users_cause_are_one_clear_line(lab, tmp_path):
    one_line_error(swarmlab("lab", "shell", "escravo9"), "no lab node 'escravo9'")
    one_line_error(swarmlab("drain", "escravo9"), "no node 'escravo9' in the inventory", "manager1, worker1, worker2")
    one_line_error(swarmlab("rollback", "NOPE"), "No service NOPE in this swarm")
    one_line_error(swarmlab("ps", "NOPE"), "no service 'NOPE' in the swarm", "WEB")
    one_line_error(swarmlab("logs", "NOPE"), "no service 'NOPE' in the swarm")
    one_line_error(swarmlab("update", "NOPE", "--image", "x"), "No service NOPE in this swarm")
    one_line_error(swarmlab("update", "WEB", "--image", "Bad Image"), '"Bad Image" is not an image reference Docker accepts')
    one_line_error(swarmlab("rm", "NOPE"), "No service NOPE in this swarm")
    one_line_error(swarmlab("scale", "NOPE", "2"), "No service NOPE in this swarm")
    r = swarmlab("scale", "WEB", "-1")
    assert r.returncode == 2 and "Traceback" not in r.stderr
    one_line_error(swarmlab("deploy", "nosuch"), "no exercise 'nosuch'")

    bad = tmp_path / "bad.yml"
    bad.write_text("swarm_services_specs:\n  - {name: BAD, image: swarmlab/nginx:1.12.1, replicas: -2}\n")
    one_line_error(swarmlab("deploy", str(bad)), 'Service BAD: replicas must be a whole number of 0 or more (got "-2")')
    r = swarmlab("deploy", "--replicas", "-1")
    assert r.returncode == 2 and "Traceback" not in r.stderr

    # A playbook failure names the task, the host and the tasks' own error.
    missing = tmp_path / "missing.yml"
    missing.write_text("swarm_services_specs:\n  - {name: GONE, image: swarmlab/nope:1, replicas: 1}\n")
    # Swarm's verdict ends the wait long before the time-out.
    one_line_error(
        swarmlab("deploy", str(missing), "--timeout", "600"),
        "manager1: failed at task 'Wait until every replica runs the wanted image: GONE'",
        "deploy of GONE failed: No such image: swarmlab/nope:1",
    )
    missing.write_text("swarm_services_specs:\n  - {name: GONE, image: swarmlab/nope:1, state: absent}\n")
    assert swarmlab("deploy", str(missing)).returncode == 0
    _, tasks = running(status(), "WEB")
    assert len(tasks) == 3


def test_a_lab_keeps_how_it_was_made_until_a_flag_changes_it(lab):
    with image_builds("ready", "ready-image") as build:  # the first ready-made lab of the session builds the image
        if build:
            r = swarmlab("up", "--ready")
    if not build:
        r = swarmlab("up", "--ready")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "the lab was made with --no-ready; it is made with --ready from now on" in r.stderr, r.stderr
    # A plain `up` goes on with the ready-made nodes: nothing made again, only the checks.
    r = swarmlab("up")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "the lab keeps how it was made: --ready" in r.stderr, r.stderr
    assert "lab unchanged since its last checked run" in r.stderr, r.stderr


def test_a_second_lab_lives_beside_the_first_and_goes_alone(lab):
    r = swarmlab("up", "--lab", "second", "--ready")
    assert r.returncode == 0, r.stdout + r.stderr
    for args in ((), ("--lab", "second")):
        rc, report = checks(*args)
        assert rc == 0 and report["ok"] and len(report["checks"]) == 8, (args, report)
    # Every lab on this host is listed (other tests' labs too): these two are the ones this test knows.
    listed = [n for n in json.loads(swarmlab("lab", "ls", "--json").stdout) if n["lab"] in ("swarmlab", "second")]
    networks = {name: {n["ip"].rsplit(".", 1)[0] for n in listed if n["lab"] == name} for name in ("swarmlab", "second")}
    assert len(listed) == 6 and len(networks["second"]) == 1 and networks["second"] != networks["swarmlab"], listed

    # This host's docker CLI on each lab's manager, over SSH as the lab's user (the Include line stays in ~/.ssh/config).
    managers = {n["lab"]: n["ip"] for n in listed if n["role"] == "manager"}
    for lab_name, name, args in (("swarmlab", "swarmlab", ()), ("second", "swarmlab-second", ("--lab", "second"))):
        r = swarmlab("lab", "context", *args)
        assert r.returncode == 0 and f"docker context {name}: ssh://" in r.stdout, r.stdout + r.stderr
        info = subprocess.run(["docker", "--context", name, "info", "--format", "{{.Swarm.NodeAddr}} {{.Swarm.Managers}} {{.Swarm.Nodes}}"],
                              capture_output=True, text=True, timeout=60)
        assert info.returncode == 0 and info.stdout.split() == [managers[lab_name], "1", "3"], info

    r = swarmlab("lab", "down", "--lab", "second")
    assert r.returncode == 0, r.stdout + r.stderr
    labs = {n["lab"] for n in json.loads(swarmlab("lab", "ls", "--json").stdout)}
    assert "swarmlab" in labs and "second" not in labs, labs
    assert subprocess.run(["docker", "context", "inspect", "swarmlab-second"], capture_output=True).returncode != 0
    rc, report = checks()
    assert rc == 0 and report["ok"], report


def test_down_removes_everything(lab, root):
    r = swarmlab("lab", "down")
    assert r.returncode == 0, r.stderr
    assert not (Path.home() / ".local/state/swarmlab/swarmlab").exists()  # how the lab was made, forgotten
    left = docker.from_env().containers.list(all=True, filters={"label": "org.swarmlab.lab=swarmlab"})
    assert left == []
    assert not (root / "inventory/lab/hosts.yml").exists()
    one_line_error(swarmlab("check"), "no lab exists yet", "swarmlab lab up")


def test_the_installed_wheel_makes_a_checked_lab_from_an_empty_directory(root, tmp_path):
    """pipx's way: the wheel built and installed into a venv of its own (its dependencies as pip resolves them, within
    the project's pins); from an empty directory `swarmlab up` finds the playbooks the wheel carries and keeps the
    lab's inventory in the user's state directory, not in any checkout."""
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", tmp_path / "dist", root],
                           capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, built.stderr
    wheel = next((tmp_path / "dist").glob("swarmlab-*.whl"))
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", venv], check=True, timeout=120)
    installed = subprocess.run([venv / "bin/pip", "install", "-q", "--disable-pip-version-check", "-c", root / "constraints.txt", wheel],
                               capture_output=True, text=True, timeout=900)
    assert installed.returncode == 0, installed.stderr
    empty = tmp_path / "empty"
    empty.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANSIBLE_", "VIRTUAL_ENV"))} | {"COLUMNS": "200"}
    env["PATH"] = os.pathsep.join(p for p in env["PATH"].split(os.pathsep) if not p.startswith(str(Path(sys.executable).parent)))

    def installed_cli(*args):
        return subprocess.run([venv / "bin/swarmlab", *args], capture_output=True, text=True, timeout=1200, cwd=empty, env=env)

    state = Path.home() / ".local/state/swarmlab/swarmlab"
    try:
        r = installed_cli("up", "--ready")
        assert r.returncode == 0, r.stdout + r.stderr
        assert (state / "hosts.yml").is_file() and not (root / "inventory/lab/hosts.yml").exists()
        assert list(empty.iterdir()) == []
        r = installed_cli("check", "--json")
        assert r.returncode == 0, r.stdout + r.stderr
        report = json.loads(r.stdout)
        assert report["ok"] and all(c["ok"] for c in report["checks"]) and len(report["checks"]) == 8, report
    finally:
        r = installed_cli("lab", "down")
    assert r.returncode == 0, r.stdout + r.stderr
    assert not (state / "hosts.yml").exists()
