"""Ubuntu 24.04 as a second platform: a node bootstrapped from Ubuntu's archive (signatures checked
with a pinned key), and the docker_engine role on it. Skipped when Ubuntu's archive does not answer."""

import docker
import pytest
import requests

from swarmlab.runner import run_playbook

pytestmark = pytest.mark.docker

ARCHIVE = "http://archive.ubuntu.com/ubuntu/dists/noble/Release"


@pytest.fixture(scope="module")
def noble(make_lab):
    try:
        requests.head(ARCHIVE, timeout=10).raise_for_status()
    except requests.RequestException as exc:
        pytest.skip(f"Ubuntu's archive does not answer ({exc.__class__.__name__}); the Ubuntu platform is not tested here")
    images = run_playbook("lab_images", extravars={"lab_images_distribution": "ubuntu"})
    assert images.ok, images.failures or images.error
    return make_lab(
        "it-ubuntu",
        "172.30.24.0/24",
        [{"name": "noble1", "role": "manager"}],
        lab_nodes_image="swarmlab/node:noble",
    )


def test_engine_on_ubuntu_noble(noble):
    node = docker.from_env().containers.get("it-ubuntu-noble1")
    rc, release = node.exec_run(["sh", "-c", ". /etc/os-release && echo $VERSION_CODENAME"])
    assert release.decode().strip() == "noble"

    first = run_playbook("docker", noble)
    assert first.ok, first.failures or first.error
    again = run_playbook("docker", noble)
    assert again.ok and again.changed == 0, again.stats

    rc, out = node.exec_run(["docker", "info", "--format", "{{.ServerVersion}} {{.OperatingSystem}}"])
    assert rc == 0 and "Ubuntu 24.04" in out.decode()
