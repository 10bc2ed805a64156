"""Day 2 on a fleet of 3 managers and 2 workers installed from a signed Docker-style mirror (served by manager1):
a rolling engine upgrade from one docker-ce build to the next (the same binaries: judged by dpkg's version and each
engine's process and start time) and a backup, each with requests going to every node and, for the upgrade, a
watch on the swarm's leader and WEB's running tasks; then a lost quorum, said as such and recovered from.
Tests run in file order."""

import datetime
import json
import re
import tarfile
import threading
import time

import docker
import pytest

from swarmlab import api
from swarmlab.api import exercise
from swarmlab.runner import run_playbook
from tests.continuity import Continuity
from tests.mirror import Mirror, lab_ip

# Five nodes with a real engine install, 8.5 min: the slow tier (.venv/bin/python -m pytest -m slow tests/integration/test_day2_fleet.py).
pytestmark = [pytest.mark.docker, pytest.mark.slow]

LAB = "it-upgrade"
NODES = [
    {"name": "manager1", "role": "manager"},
    {"name": "manager2", "role": "manager"},
    {"name": "manager3", "role": "manager"},
    {"name": "worker1", "role": "worker"},
    {"name": "worker2", "role": "worker"},
]
MANAGERS = ["manager1", "manager2", "manager3"]
ROLLING = "Upgrade the swarm's engines one node at a time"


def sh(node, cmd):
    rc, out = docker.from_env().containers.get(f"{LAB}-{node}").exec_run(["sh", "-c", cmd])
    return rc, out.decode()


def engine(node):
    """The node's engine process: its PID, when it last stopped (left active) and when it last started, in seconds
    of the host's monotonic clock (the node containers share it)."""
    rc, out = sh(node, "systemctl show docker.service --property=MainPID,ActiveExitTimestampMonotonic,ExecMainStartTimestampMonotonic")
    assert rc == 0, out
    props = dict(line.split("=", 1) for line in out.split())
    return {"pid": props["MainPID"], "stopped": int(props["ActiveExitTimestampMonotonic"]) / 1e6,
            "started": int(props["ExecMainStartTimestampMonotonic"]) / 1e6}


class SwarmWatch:
    """Every half second, from the first manager that answers: whether the swarm has a leader and how many of
    WEB's tasks run. Bounded: stops with its block, or after `seconds`."""

    def __init__(self, seconds=900):
        self.samples = []  # (monotonic time, leader seen, WEB tasks running or None when no manager answered)
        self.seconds = seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self):
        end = time.monotonic() + self.seconds
        while not self._stop.is_set() and time.monotonic() < end:
            now = time.monotonic()
            leader, running = False, None
            for m in MANAGERS:
                rc, out = sh(m, "docker node ls --format '{{.ManagerStatus}}' && "
                                "docker service ps WEB -f desired-state=running --format '{{.CurrentState}}'")
                if rc == 0:
                    leader = "Leader" in out.split()
                    running = sum(1 for line in out.splitlines() if line.startswith("Running"))
                    break
            self.samples.append((now, leader, running))
            self._stop.wait(0.5)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


@pytest.fixture(scope="module")
def lab(make_lab, root):
    inventory = make_lab(LAB, "172.30.34.0/24", NODES, lab_nodes_image="swarmlab/node:bookworm")
    served = run_playbook(root / "tests/integration/playbooks/apt_mirror.yml", inventory, {"mirror_host": "manager1"})
    assert served.ok, served.failures or served.error
    mirror = Mirror("bookworm", inventory, LAB, "debian", node="manager1")
    old = mirror.versions["docker-ce"][0]
    site = run_playbook("site", inventory, mirror.official(docker_engine_version=old))
    assert site.ok, site.failures or site.error
    services = run_playbook("services", inventory, exercise("nginx"))
    assert services.ok, services.failures or services.error
    return mirror


def urls():
    return [f"http://{lab_ip(LAB, n['name'])}:85/" for n in NODES]


def test_a_rolling_upgrade_restarts_one_engine_at_a_time_and_keeps_the_service_answering(lab):
    old, new = lab.versions["docker-ce"]
    before = {n["name"]: engine(n["name"]) for n in NODES}
    events = []
    addresses = urls()
    with Continuity(addresses, expect="swarmlab nginx 1.12.1", seconds=900) as load, SwarmWatch() as watch:
        time.sleep(3)
        since = int(time.time())
        result = run_playbook("upgrade", lab.inventory, lab.official(docker_engine_version=new), on_event=events.append)
        time.sleep(3)
    assert result.ok, result.failures or result.error
    after = {n["name"]: engine(n["name"]) for n in NODES}

    # Docker's order: managers, the leader last of them, then workers; each package moved to the new build.
    turns = {}  # host -> (first, last) monotonic time of its events in the rolling play
    offset = time.time() - time.monotonic()
    for e in events:
        if e.get("event_data", {}).get("play") == ROLLING and e["event_data"].get("host"):
            t = datetime.datetime.fromisoformat(e["created"]).replace(tzinfo=datetime.UTC).timestamp() - offset
            first, last = turns.get(e["event_data"]["host"], (t, t))
            turns[e["event_data"]["host"]] = (min(first, t), max(last, t))
    order = sorted(turns, key=lambda h: turns[h][0])
    assert order[:3] == sorted(MANAGERS, key=lambda h: turns[h][0]) and order[3:] == ["worker1", "worker2"], order
    for n in NODES:
        installed = lab.installed(n["name"])
        assert installed["docker-ce"] == new and installed["docker-ce-cli"] == new, installed

    # Each engine restarted once, in that order, the next one stopping only after the one before had started.
    for host in order:
        assert after[host]["pid"] != before[host]["pid"] and after[host]["started"] > before[host]["stopped"] > 0, (host, before, after)
        rc, out = sh(host, f"journalctl -u docker.service --since @{since} -o cat | grep -c '^Started docker.service'")
        assert out.strip() == "1", (host, out)
    for prev, nxt in zip(order, order[1:]):
        assert after[nxt]["stopped"] > after[prev]["started"], (prev, nxt, after)

    # A leader within 15 s of each manager's restart; WEB never below its replicas - 1.
    for m in MANAGERS:
        seen = [t for t, leader, _ in watch.samples if leader and t > after[m]["stopped"]]
        assert seen and seen[0] - after[m]["stopped"] < 15, (m, after[m], seen[:1])
    counts = [running for _, _, running in watch.samples if running is not None]
    assert len(counts) > 50 and min(counts) >= 2, counts

    # No failed request but to the node whose turn it was.
    by_url = dict(zip(addresses, (n["name"] for n in NODES)))
    stray = [(by_url[u], round(t, 1)) for u, t in load.failed_at if not turns[by_url[u]][0] <= t <= turns[by_url[u]][1] + 1]
    assert not stray, (stray, turns, load.errors)
    assert all(load.ok[u] >= 50 for u in addresses), dict(load.ok)

    again = run_playbook("upgrade", lab.inventory, lab.official(docker_engine_version=new))
    assert again.ok and again.changed == 0, again.changes


def test_check_mode_lists_the_order_and_each_nodes_packages_and_changes_nothing(lab):
    old, new = lab.versions["docker-ce"]
    before = {n["name"]: engine(n["name"])["pid"] for n in NODES}
    result = run_playbook("upgrade", lab.inventory, lab.official(docker_engine_version=old), check=True)
    assert result.ok, result.failures or result.error
    plan = next(f["docker_engine_upgrade_plan"] for f in result.facts.values() if "docker_engine_upgrade_plan" in f)
    assert [m["host"] for m in plan][3:] == ["worker1", "worker2"] and {m["host"] for m in plan[:3]} == set(MANAGERS)
    assert [m["leader"] for m in plan] == [False, False, True, False, False]
    assert f"docker-ce {new} → {old}" in plan[0]["changes"], plan[0]
    assert {n["name"]: engine(n["name"])["pid"] for n in NODES} == before
    assert lab.installed("worker1")["docker-ce"] == new


def test_a_backup_from_a_follower_keeps_the_other_nodes_answering_and_is_mode_0600(lab):
    leader = next(m for m in MANAGERS if sh(m, "docker node inspect self --format '{{.ManagerStatus.Leader}}'")[1].strip() == "true")
    before = {n["name"]: engine(n["name"]) for n in NODES}
    addresses = urls()
    by_url = dict(zip(addresses, (n["name"] for n in NODES)))
    with Continuity(addresses, expect="swarmlab nginx 1.12.1", seconds=300) as load:
        time.sleep(2)
        report = api.backup(inventory_path=lab.inventory)
        time.sleep(2)
    after = {n["name"]: engine(n["name"]) for n in NODES}
    [backed] = [n for n in after if after[n]["pid"] != before[n]["pid"]]
    assert backed in MANAGERS and backed != leader, (backed, leader)
    out = report.path
    cluster = json.loads(sh(leader, "docker info --format '{{json .Swarm.Cluster.ID}}'")[1])
    version = sh(leader, "docker version --format '{{.Server.Version}}'")[1].strip()
    assert re.fullmatch(rf"swarm-{cluster}-{re.escape(version)}-\d{{8}}T\d{{6}}Z\.tar\.gz", out.name), out.name
    assert out.stat().st_mode & 0o777 == 0o600 and out.parent.stat().st_mode & 0o777 == 0o700
    # Nothing failed but requests to the node backed up; it answers again.
    assert not [u for u in load.failed if by_url[u] != backed], (dict(load.failed), load.errors)
    assert all(load.ok[u] >= 20 for u in addresses), dict(load.ok)
    with tarfile.open(out) as archive:
        names = archive.getnames()
    out.unlink()
    assert any(n.startswith("swarm/raft/") for n in names) and "swarm/certificates/swarm-root-ca.crt" in names, names[:20]
    rc, left = sh(backed, "ls /var/lib/docker/swarmlab-backup.tar.gz")
    assert rc != 0, left


def test_a_lost_quorum_is_said_and_recovered_from_the_survivor_and_the_old_managers_join_again(lab):
    old, new = lab.versions["docker-ce"]
    rc, token_before = sh("manager3", "docker swarm join-token -q worker")
    assert rc == 0, token_before
    for m in ("manager1", "manager2"):
        rc, out = sh(m, "systemctl stop docker.socket docker.service")
        assert rc == 0, out
    start, said = time.monotonic(), ""
    while "quorum lost" not in said and time.monotonic() - start < 30:
        check = run_playbook("verify", lab.inventory)
        said = " ".join(f.message for f in check.failures)
    assert "quorum lost: 1 of 3 managers reachable (manager3; not: manager1, manager2)" in said, said
    assert "docker swarm init --force-new-cluster" in said

    recovered = run_playbook("recover", lab.inventory)
    assert recovered.ok, recovered.failures or recovered.error
    # The two come back with the old Raft membership, as a majority of it; the next run makes them leave and join.
    for m in ("manager1", "manager2"):
        rc, out = sh(m, "systemctl start docker.service")
        assert rc == 0, out
    site = run_playbook("site", lab.inventory, lab.official(docker_engine_version=new))
    assert site.ok, site.failures or site.error

    views = {}
    for m in MANAGERS:
        rc, out = sh(m, "docker node ls --format '{{.ID}} {{.Hostname}} {{.Status}} {{.ManagerStatus}}'")
        assert rc == 0, (m, out)
        views[m] = sorted(out.splitlines())
    assert views["manager1"] == views["manager2"] == views["manager3"], views  # one swarm, seen alike
    rows = [line.split() for line in views["manager3"]]
    assert sorted(r[1] for r in rows) == sorted(n["name"] for n in NODES), rows  # no stale entries
    assert all(r[2] == "Ready" for r in rows) and sum(r[3:] == ["Leader"] for r in rows) == 1, rows
    ids = {r[0] for r in rows}
    for n in NODES:
        rc, out = sh(n["name"], "docker info --format '{{.Swarm.NodeID}}'")
        assert out.strip() in ids, (n["name"], out)
    rc, token_after = sh("manager3", "docker swarm join-token -q worker")
    assert token_after.strip() != token_before.strip()
    check = run_playbook("verify", lab.inventory, exercise("nginx"))
    assert check.ok, check.failures
