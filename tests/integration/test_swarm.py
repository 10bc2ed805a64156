"""The swarm role on a 3-manager, 2-worker lab: formation, idempotence, availability, foreign swarms,
decommissioning, losing a manager; and no join token in anything the runs produced."""

import json
import tempfile
import threading
import time
from pathlib import Path

import docker
import pytest
import yaml

from swarmlab import api
from swarmlab.runner import run_playbook
from tests.nodes import engine_start, hosts_of

pytestmark = pytest.mark.docker

LAB = "it-swarm"
NODES = [{"name": f"manager{i}", "role": "manager"} for i in (1, 2, 3)] + [
    {"name": f"worker{i}", "role": "worker"} for i in (1, 2)
]
EVENTS: list[dict] = []


def sh(node, cmd):
    rc, out = docker.from_env().containers.get(f"{LAB}-{node}").exec_run(["sh", "-c", cmd])
    return rc, out.decode()


def node_ls(node="manager1"):
    rc, out = sh(node, "docker node ls --format '{{json .}}'")
    assert rc == 0, out
    return {n["Hostname"]: n for n in map(json.loads, out.splitlines())}


def play(book, inventory, **extravars):
    return run_playbook(book, inventory, extravars, on_event=EVENTS.append)


@pytest.fixture(scope="module")
def lab(make_lab):
    # Engines from the ready-made image, the swarm formed in the same run, as `up` does: the swarm is what is tested
    # here (engine installs: test_check_mode, test_ssh).
    book = Path(__file__).parent / "playbooks" / "lab_swarm.yml"
    return make_lab(LAB, "172.30.21.0/24", NODES, playbook=book, on_event=EVENTS.append, lab_nodes_ready=True)


def test_fresh_nodes_get_the_engine_check_only(lab):
    # Fresh from the image the docker_engine role made with these inputs: nothing to install or configure.
    # (The run may have made the ready-made image first: its build node installs the engine.)
    names = {n["name"] for n in NODES}
    assert hosts_of(EVENTS, "runner_on_skipped", "Install and configure the engine") == names
    assert hosts_of(EVENTS, "runner_on_ok", "Check that the engine answers") - {f"swarmlab-ready-build-{LAB}"} == names


def test_ready_made_nodes_start_with_the_service_images_and_engines_of_their_own(lab):
    # The ready-made image carries the service images as its build engine's tarball, extracted at first boot.
    names = [n["name"] for n in NODES]
    wanted = {"swarmlab/nginx:1.12.1", "swarmlab/nginx:1.13.5", "swarmlab/httpd:2.4", "swarmlab/haproxy:2.6"}
    for node in names:
        rc, out = sh(node, "docker images --format '{{.Repository}}:{{.Tag}}'")
        assert rc == 0 and wanted <= set(out.split()), out
    ids = [sh(node, "docker info --format '{{.ID}}'")[1].strip() for node in names]
    assert len(set(ids)) == len(names), ids
    # The same files as on this host: the tarball kept the nested engine's whiteouts (files a layer deletes) and
    # opaque directories (a layer's directory that hides the one below).
    listing = "find / -xdev | sort | md5sum"
    for image in sorted(wanted):
        here = docker.from_env().containers.run(image, ["sh", "-c", listing], entrypoint=[], remove=True).decode()
        rc, there = sh("worker1", f"docker run --rm --entrypoint '' {image} sh -c '{listing}'")
        assert rc == 0 and there == here, (image, there)
    opaque = (
        "python3 -c \"import os; print(sum('trusted.overlay.opaque' in os.listxattr(d) for d, _, _ in os.walk("
        "'/var/lib/docker/overlay2')))\""
    )
    rc, out = sh("worker1", opaque)
    assert rc == 0 and int(out) > 0, out


def test_fresh_nodes_are_not_asked_for_the_images_their_image_carries(lab):
    # The ready-made image's carries label says which images its engine holds: no read of a fresh node's engine,
    # and an image it does not carry (the package cache's) is still loaded.
    # (The run may have made the ready-made image first: its build node loads the images it carries.)
    names, build = {n["name"] for n in NODES}, {f"swarmlab-ready-build-{LAB}"}
    assert hosts_of(EVENTS, "runner_on_skipped", "Find the images the node has") == names
    assert hosts_of(EVENTS, "runner_on_ok", "Load the bundle into the node's engine") - build == names
    for node in names:
        rc, out = sh(node, "docker images --format '{{.Repository}}:{{.Tag}}'")
        assert rc == 0 and {"swarmlab/nginx:1.12.1", "swarmlab/apt-cacher-ng:3.7"} <= set(out.split()), out


def test_swarm_formed(lab):
    nodes = node_ls()
    assert sorted(nodes) == [n["name"] for n in NODES]
    assert all(n["Status"] == "Ready" for n in nodes.values())
    status = {h: n["ManagerStatus"] for h, n in nodes.items()}
    assert status["manager1"] == "Leader"
    assert status["manager2"] == status["manager3"] == "Reachable"
    assert status["worker1"] == status["worker2"] == ""


def test_second_run_changes_nothing(lab):
    # The role in full this time (the nodes have lived since): the image held its result already.
    events = []
    result = run_playbook("site", lab, on_event=events.append)
    EVENTS.extend(events)
    assert result.ok and result.changed == 0, result.stats
    assert hosts_of(events, "runner_on_ok", "Find which of the engine packages are installed") == {n["name"] for n in NODES}


def test_drain_and_activate(lab):
    assert play("availability", lab, node="worker2", availability="drain").ok
    assert node_ls()["worker2"]["Availability"] == "Drain"
    assert play("availability", lab, node="worker2", availability="active").ok
    assert node_ls()["worker2"]["Availability"] == "Active"


def test_unknown_node_is_a_clear_error(lab):
    result = play("availability", lab, node="escravo9", availability="drain")
    assert not result.ok
    assert "node must be in the inventory" in result.failures[0].message


def test_node_in_another_swarm_is_refused(lab):
    rc, ip = sh("worker2", "hostname -I")
    old_id = node_ls()["worker2"]["ID"]
    assert sh("worker2", f"docker swarm leave --force && docker swarm init --advertise-addr {ip.split()[0]}")[0] == 0
    try:
        result = play("swarm", lab)
        assert not result.ok
        [failure] = result.failures
        assert failure.host == "worker2"
        assert "already in another swarm" in failure.message
        rc, state = sh("worker2", "docker info --format '{{.Swarm.ControlAvailable}}'")
        assert state.strip() == "true"  # left alone: still the manager of its own swarm
    finally:
        sh("worker2", "docker swarm leave --force")
        sh("manager1", f"docker node rm --force {old_id}")
    result = play("swarm", lab)
    assert result.ok, result.failures
    assert node_ls()["worker2"]["Status"] == "Ready"


def test_decommission_and_rejoin(lab, tmp_path):
    inv = yaml.safe_load(lab.read_text())
    inv["all"]["children"]["workers"]["hosts"]["worker2"]["swarm_node_state"] = "absent"
    marked = tmp_path / "hosts.yml"
    marked.write_text(yaml.safe_dump(inv))
    result = play("swarm", marked)
    assert result.ok, result.failures
    assert "worker2" not in node_ls()
    assert sh("worker2", "docker info --format '{{.Swarm.LocalNodeState}}'")[1].strip() == "inactive"
    assert play("swarm", lab).ok
    assert node_ls()["worker2"]["Status"] == "Ready"


def test_groups_named_otherwise_and_a_decommissioned_first_manager(lab, tmp_path):
    """A fleet whose groups have its own names, and whose first-listed manager leaves: deploy, check and status
    go through the next manager; site.yml then brings the first one back, joined, not as a second swarm."""
    inv = yaml.safe_load(lab.read_text())
    groups = inv["all"]["children"]
    inv["all"]["children"] = {"swarm_managers": groups["managers"], "swarm_workers": groups["workers"]}
    inv["all"]["vars"].update(swarm_managers_group="swarm_managers", swarm_workers_group="swarm_workers")
    renamed = tmp_path / "renamed.yml"
    renamed.write_text(yaml.safe_dump(inv))
    assert api.nodes_of(renamed) == ["manager1", "manager2", "manager3", "worker1", "worker2"]
    again = play("site", renamed)
    assert again.ok and again.changed == 0, again.failures or again.stats
    api.deploy("nginx", renamed)
    assert api.check("nginx", renamed).ok

    inv["all"]["children"]["swarm_managers"]["hosts"]["manager1"]["swarm_node_state"] = "absent"
    marked = tmp_path / "marked.yml"
    marked.write_text(yaml.safe_dump(inv))
    try:
        result = play("swarm", marked)
        assert result.ok, result.failures
        assert "manager1" not in node_ls("manager2")
        status = api.status(marked)
        assert sorted(n["name"] for n in status.nodes) == ["manager2", "manager3", "worker1", "worker2"]
        assert api.deploy("nginx", marked, replicas=4).changed > 0
        assert api.deploy("nginx", marked).changed > 0
        report = api.check("nginx", marked)
        assert report.ok, [c for c in report.checks if not c.ok]
        assert {c.target for c in report.checks if c.check == "http"} == {f"WEB:85 on {n}" for n in ("manager2", "manager3", "worker1", "worker2")}
    finally:
        result = play("site", renamed)
        sh("manager2", "docker service rm WEB WEB-proxy")
    assert result.ok, result.failures
    nodes = node_ls("manager1")
    assert nodes["manager1"]["ManagerStatus"] in ("Reachable", "Leader") and len(nodes) == 5
    assert sh("manager1", "docker info --format '{{.Swarm.Cluster.ID}}'")[1] == sh("manager2", "docker info --format '{{.Swarm.Cluster.ID}}'")[1]


def test_no_join_token_in_any_output(lab):
    tokens = [sh("manager1", f"docker swarm join-token -q {kind}")[1].strip() for kind in ("worker", "manager")]
    assert all(t.startswith("SWMTKN-") for t in tokens)
    dump = json.dumps(EVENTS)
    assert len(EVENTS) > 100
    for token in tokens:
        assert token not in dump
    assert "SWMTKN-" not in dump
    # Each run's ansible-runner directory (events, command line) is removed when it ends.
    assert not list(Path(tempfile.gettempdir()).glob("swarmlab-run-*"))


def test_a_daemon_change_restarts_one_node_at_a_time(lab):
    """With 3 managers, some manager reports a leader at every look while all 5 engines restart."""
    looks: list[bool] = []
    stop = threading.Event()

    def watch():
        while not stop.is_set():
            answers = [sh(m, "docker node ls --format '{{.ManagerStatus}}'") for m in ("manager1", "manager2", "manager3")]
            looks.append(any(rc == 0 and "Leader" in out for rc, out in answers))
            time.sleep(0.5)

    before = {n["name"]: engine_start(f"{LAB}-{n['name']}") for n in NODES}
    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        result = play("docker", lab, docker_engine_daemon_options={"log-driver": "json-file", "log-opts": {"max-size": "10m"}})
    finally:
        stop.set()
        watcher.join()
    assert result.ok, result.failures or result.error
    starts = sorted(engine_start(f"{LAB}-{n['name']}") for n in NODES)
    assert all(engine_start(f"{LAB}-{n}") != t for n, t in before.items())  # every engine restarted
    # One at a time: each engine started only once the one before was back (seconds apart, never together).
    assert all(b - a >= 1.0 for a, b in zip(starts, starts[1:])), starts
    assert len(looks) > 10 and all(looks), looks
    assert all(n["Status"] == "Ready" for n in node_ls().values())


def test_losing_a_manager_keeps_a_leader_and_scheduling(lab):
    client = docker.from_env()
    client.containers.get(f"{LAB}-manager1").stop(timeout=5)
    try:
        deadline = time.monotonic() + 60
        leader = None
        while time.monotonic() < deadline and not leader:
            rc, out = sh("manager2", "docker node ls --format '{{.Hostname}} {{.ManagerStatus}}'")
            leader = next((line.split()[0] for line in out.splitlines() if rc == 0 and line.endswith("Leader")), None)
            time.sleep(1)
        assert leader in ("manager2", "manager3")
        # The playbooks act through the first manager that answers, not the first listed.
        status = api.status(lab)
        assert [h for h, facts in status.result.facts.items() if "verify_status" in facts] == ["manager2"]
        assert len(status.nodes) == 5

        # No registry: a tiny image from the node's own /bin/sleep and its libraries.
        rc, out = sh(
            "worker1",
            "cd / && tar -ch bin/sleep $(ldd /bin/sleep | grep -o '/[^ ]*' | sed 's|^/||') 2>/dev/null"
            " | docker import - swarmlab-test/sleep:1",
        )
        assert rc == 0, out
        rc, out = sh(
            "manager2",
            "docker service create --detach --no-resolve-image --name ha-probe"
            " --constraint node.hostname==worker1 swarmlab-test/sleep:1 /bin/sleep 600",
        )
        assert rc == 0, out
        deadline = time.monotonic() + 60
        state = ""
        while time.monotonic() < deadline and state != "Running":
            state = sh("manager2", "docker service ps ha-probe --format '{{.CurrentState}}'")[1].split(" ")[0]
            time.sleep(1)
        assert state == "Running"
    finally:
        sh("manager2", "docker service rm ha-probe")
        client.containers.get(f"{LAB}-manager1").start()



def test_nodes_keep_their_addresses_whatever_order_they_start_in(lab):
    """As after this host's reboot: an engine's swarm state (in the node's volume) advertises the node's address, so
    manager1 and worker1, stopped and started the other way round, must come back where they were."""
    groups = yaml.safe_load(lab.read_text())["all"]["children"].values()
    written = {name: host["swarmlab_node_ip"] for group in groups for name, host in group["hosts"].items()}
    client = docker.from_env()
    for name in ("manager1", "worker1"):
        client.containers.get(f"{LAB}-{name}").stop(timeout=5)
    for name in ("worker1", "manager1"):
        client.containers.get(f"{LAB}-{name}").start()
    now = {n["name"]: client.containers.get(f"{LAB}-{n['name']}").attrs["NetworkSettings"]["Networks"][LAB]["IPAddress"] for n in NODES}
    assert now == written

    def back(nodes):
        return len(nodes) == len(NODES) and all(n["Status"] == "Ready" for n in nodes.values()) and all(
            nodes[m]["ManagerStatus"] in ("Leader", "Reachable") for m in ("manager1", "manager2", "manager3"))

    deadline = time.monotonic() + 120
    nodes = {}
    while time.monotonic() < deadline and not back(nodes):
        time.sleep(2)
        rc, out = sh("manager2", "docker node ls --format '{{json .}}'")
        nodes = {n["Hostname"]: n for n in map(json.loads, out.splitlines())} if rc == 0 else {}
    assert back(nodes), nodes
