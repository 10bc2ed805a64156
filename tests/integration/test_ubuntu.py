"""Ubuntu 24.04 and 22.04 nodes, as ops teams run them: images bootstrapped from Ubuntu's archive (signatures
checked with a pinned key), the distribution's docker.io installed by the docker_engine role, the swarm
formed by the community.docker modules through each release's own Python SDK, then the whole walkthrough
through swarmlab's Python API. Skipped when Ubuntu's archive does not answer. One lab per release; the
tests run in file order for each."""

import docker
import pytest

from swarmlab import api
from swarmlab.runner import run_playbook
from tests.docker_fixtures import ubuntu_images
from tests.http import page

pytestmark = pytest.mark.docker

RELEASES = {"noble": ("Ubuntu 24.04", "172.30.24.0/24"), "jammy": ("Ubuntu 22.04", "172.30.26.0/24")}
NODES = [{"name": "manager1", "role": "manager"}, {"name": "worker1", "role": "worker"}]


class Lab:
    def __init__(self, release, inventory):
        self.release, self.inventory, self.name = release, inventory, f"it-{release}"

    def sh(self, node, cmd):
        rc, out = docker.from_env().containers.get(f"{self.name}-{node}").exec_run(["sh", "-c", cmd])
        return rc, out.decode()

    def pages(self, port):
        """The page every node serves on the port."""
        out = {}
        for n in NODES:
            ip = docker.from_env().containers.get(f"{self.name}-{n['name']}").attrs["NetworkSettings"]["Networks"][self.name]["IPAddress"]
            out[n["name"]] = page(f"http://{ip}:{port}/", timeout=5)
        return out

    def running(self, service):
        """(node, image) of each task of the service that should run, as `docker service ps` lists them."""
        rc, out = self.sh("manager1", f"docker service ps -f desired-state=running --format '{{{{.Node}}}} {{{{.Image}}}}' {service}")
        assert rc == 0, out
        return sorted(tuple(line.split()) for line in out.splitlines())


@pytest.fixture(scope="module", params=list(RELEASES))
def ubuntu(request, make_lab):
    release = request.param
    if unavailable := ubuntu_images(release):
        pytest.skip(f"{unavailable}; Ubuntu {release} is not tested here")
    inventory = make_lab(f"it-{release}", RELEASES[release][1], NODES, lab_nodes_image=f"swarmlab/node:{release}")
    return Lab(release, inventory)


def test_engine_and_swarm_on_ubuntu(ubuntu):
    rc, codename = ubuntu.sh("manager1", ". /etc/os-release && echo $VERSION_CODENAME")
    assert codename.strip() == ubuntu.release

    first = api.provision(ubuntu.inventory)
    assert first.ok
    again = api.provision(ubuntu.inventory)
    assert again.changed == 0, again.stats

    rc, out = ubuntu.sh("worker1", "docker info --format '{{.OperatingSystem}}|{{.Driver}}|{{.Swarm.LocalNodeState}}'")
    system, driver, state = out.strip().split("|")
    assert RELEASES[ubuntu.release][0] in system and state == "active", out
    # The lab's classic image store (lab_nodes_daemon_options), whatever the release's engine defaults to.
    assert driver == "overlay2", out
    # The swarm modules ran through the release's own SDK package (python3-docker), not one of ours.
    rc, sdk = ubuntu.sh("manager1", "python3 -c 'import docker; print(docker.__file__, docker.__version__)'")
    assert rc == 0 and sdk.startswith("/usr/lib/python3/dist-packages/docker/"), sdk
    status = api.status(ubuntu.inventory)
    assert sorted((n["name"], n["status"]) for n in status.nodes) == [("manager1", "ready"), ("worker1", "ready")]


# 22.04's walkthrough takes the path 24.04's takes (its engine and swarm are tested above): beyond CI's budget.
@pytest.mark.parametrize("ubuntu", ["noble", pytest.param("jammy", marks=pytest.mark.slow)], indirect=True)
def test_walkthrough_on_ubuntu(ubuntu):
    inv = ubuntu.inventory
    api.deploy("nginx", inv)
    assert [image for _, image in ubuntu.running("WEB")] == ["swarmlab/nginx:1.12.1"] * 3
    assert all("swarmlab nginx 1.12.1" in page for page in ubuntu.pages(85).values())

    api.update("WEB", "swarmlab/nginx:1.13.5", inv)
    assert all("swarmlab nginx 1.13.5" in page for page in ubuntu.pages(85).values())
    api.rollback("WEB", inv)
    assert [image for _, image in ubuntu.running("WEB")] == ["swarmlab/nginx:1.12.1"] * 3
    assert all("swarmlab nginx 1.12.1" in page for page in ubuntu.pages(85).values())

    api.availability("worker1", "drain", inv)
    assert {node for node, _ in ubuntu.running("WEB")} == {"manager1"}
    api.availability("worker1", "active", inv)

    api.deploy("httpd", inv)
    assert [image for _, image in ubuntu.running("WEB")] == ["swarmlab/httpd:2.4"] * 5
    assert all("It works!" in page for page in ubuntu.pages(80).values())

    report = api.prune(False, inv)
    assert set(report.freed) == {"manager1", "worker1"}
    check = api.check("httpd", inv)
    assert check.ok, [c for c in check.checks if not c.ok]


def test_a_keyring_without_ubuntus_archive_key_stops_the_build_and_leaves_nothing(tmp_path):
    """The keyring package is fetched into the build's own private directory, checked against the pinned
    fingerprint before debootstrap runs, and removed with it whatever the outcome."""
    if unavailable := ubuntu_images("noble"):
        pytest.skip(f"{unavailable}; Ubuntu's keyring is not tested here")
    base = "swarmlab-test/base:keyring"
    result = run_playbook("lab/images", extravars={
        "lab_images_distribution": "ubuntu", "lab_images_suite": "noble", "lab_images_base": base,
        "lab_images_workdir": str(tmp_path), "lab_images_ubuntu_key_fingerprint": "0" * 40})
    assert not result.ok
    assert "does not hold Ubuntu's archive key " + "0" * 40 in result.failures[-1].message, result.failures
    assert not docker.from_env().images.list(name=base)
    assert list(tmp_path.iterdir()) == []
