"""Check mode (`site.yml --check --diff`, `swarmlab provision --check`) as ops teams use it before a change:
on new machines it plans the install and fails nothing; on a provisioned swarm it reports nothing to change;
on a swarm with one new node it reports that node's changes only. Nothing changes in any of them. The engines
installed meanwhile came through the lab's package cache. The tests share one lab and run in file order."""

import docker
import pytest

from swarmlab import api
from swarmlab.runner import run_playbook

pytestmark = pytest.mark.docker

LAB = "it-check"
NODES = [{"name": "manager1", "role": "manager"}, {"name": "worker1", "role": "worker"}, {"name": "worker2", "role": "worker"}]


def sh(node, cmd):
    rc, out = docker.from_env().containers.get(f"{LAB}-{node}").exec_run(["sh", "-c", cmd])
    return rc, out.decode()


def installed(node):
    return sh(node, "dpkg-query -W -f '${Status}' docker.io")[1] == "install ok installed"


@pytest.fixture(scope="module")
def lab(make_lab):
    return make_lab(LAB, "172.30.27.0/24", NODES)


def test_check_on_new_machines_plans_the_install_and_changes_nothing(lab):
    result = run_playbook("site", lab, check=True)
    assert result.ok, result.failures or result.error
    would = {(host, task) for host, task in result.changes}
    assert {h for h, t in would if "Install the engine packages" in t} == {"manager1", "worker1", "worker2"}
    assert not any(installed(n["name"]) for n in NODES)
    assert all(sh(n["name"], "test -e /etc/docker/daemon.json")[0] != 0 for n in NODES)


def test_check_on_a_provisioned_swarm_changes_nothing(lab):
    result = run_playbook("site", lab, limit="manager1,worker1")
    assert result.ok, result.failures or result.error

    # worker2 is new: its install is planned, its join is not attempted, and nothing fails.
    check = api.provision(lab, check=True)
    assert check.ok
    assert {host for host, _ in check.changes} == {"worker2"}, check.changes
    assert not installed("worker2")
    rc, out = sh("manager1", "docker node ls --format '{{.Hostname}}'")
    assert sorted(out.split()) == ["manager1", "worker1"]

    check = api.provision(lab, limit="manager1,worker1", check=True)
    assert check.changed == 0 and not check.changes, check.changes


def test_engines_came_through_the_labs_package_cache(lab):
    cache = docker.from_env().containers.get(f"{LAB}-apt-cache")
    rc, log = cache.exec_run(["cat", "/var/log/apt-cacher-ng/apt-cacher.log"])
    assert rc == 0
    # apt-cacher-ng's log: time|I (fetched upstream) or O (sent to a node)|bytes|client|path
    engine = [line.split("|") for line in log.decode().splitlines() if "/docker.io_" in line]
    assert [e[1] for e in engine].count("I") == 1, engine
    assert len({e[3] for e in engine if e[1] == "O"}) == 2, engine  # manager1 and worker1, installed above
    rc, conf = sh("worker1", "cat /etc/apt/apt.conf.d/01swarmlab-proxy")
    assert f'Acquire::http::Proxy "http://{LAB}-apt-cache:3142";' in conf
