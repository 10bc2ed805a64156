"""docker_engine's official-repository path, against a local signed mirror in Docker's layout."""

import docker
import pytest

from swarmlab.runner import run_playbook

pytestmark = pytest.mark.docker

LAB = "it-repo"
DOCKER_FPR = "9DC858229FC7DD38854AE2D88D81803C0EBFCD88"


def node_exec(node, cmd):
    c = docker.from_env().containers.get(f"{LAB}-{node}")
    rc, out = c.exec_run(["sh", "-c", cmd])
    return rc, out.decode()


@pytest.fixture(scope="module")
def mirror(make_lab, root):
    inventory = make_lab(
        LAB,
        "172.30.20.0/24",
        [{"name": "mirror", "role": "manager"}, {"name": "good", "role": "worker"}, {"name": "bad", "role": "worker"}],
    )
    result = run_playbook(root / "tests/integration/playbooks/apt_mirror.yml", inventory)
    assert result.ok, result.failures or result.error
    rc, fpr = node_exec("mirror", "GNUPGHOME=/srv/gnupg gpg --batch --with-colons --list-keys | awk -F: '/^fpr:/{print $10; exit}'")
    assert rc == 0 and len(fpr.strip()) == 40
    rc, ip = node_exec("mirror", "hostname -I")
    return {"inventory": inventory, "url": f"http://{ip.split()[0]}/linux/debian", "fingerprint": fpr.strip()}


def official(mirror, fingerprint):
    return {
        "docker_engine_source": "official",
        "docker_engine_repo_url": mirror["url"],
        "docker_engine_repo_key_fingerprint": fingerprint,
        # The mirror holds the distribution's engine, not docker-ce: its dependencies must stay.
        "docker_engine_packages": ["docker.io"],
        "docker_engine_conflicting_packages": ["docker-ce", "docker-ce-cli", "containerd.io", "podman-docker"],
    }


def test_check_mode_before_the_repository_is_added_changes_nothing(mirror):
    result = run_playbook("docker", mirror["inventory"], official(mirror, mirror["fingerprint"]), limit="good", check=True)
    assert result.ok, result.failures or result.error
    assert ("good", "Add Docker's repository") in [(h, t) for h, t in result.changes]
    rc, out = node_exec("good", "ls /etc/apt/keyrings /etc/apt/sources.list.d; ls /tmp; dpkg -s docker.io")
    assert rc != 0 and "docker" not in out.replace("docker.io", ""), out


def test_installs_from_the_signed_repository(mirror):
    # Spaced, lower-case fingerprint: the form people paste.
    fpr = " ".join(mirror["fingerprint"][i : i + 4] for i in range(0, 40, 4)).lower()
    first = run_playbook("docker", mirror["inventory"], official(mirror, fpr), limit="good")
    assert first.ok, first.failures or first.error
    assert first.stats["good"].changed > 0

    again = run_playbook("docker", mirror["inventory"], official(mirror, fpr), limit="good")
    assert again.ok and again.stats["good"].changed == 0

    rc, policy = node_exec("good", "apt-cache policy docker.io")
    assert rc == 0 and mirror["url"] + " bookworm/stable" in policy
    rc, sources = node_exec("good", "cat /etc/apt/sources.list.d/docker.sources")
    assert f"URIs: {mirror['url']}" in sources and "Signed-By: /etc/apt/keyrings/docker.asc" in sources
    # The key was checked in a scratch file, not left beside the keyring.
    assert node_exec("good", "ls /etc/apt/keyrings")[1].split() == ["docker.asc"]
    rc, version = node_exec("good", "docker info --format '{{.ServerVersion}}'")
    assert rc == 0 and version.strip()


def test_wrong_fingerprint_installs_nothing(mirror):
    result = run_playbook("docker", mirror["inventory"], official(mirror, DOCKER_FPR), limit="bad")
    assert not result.ok
    [failure] = result.failures
    assert failure.host == "bad"
    assert f"not the pinned {DOCKER_FPR}" in failure.message
    assert mirror["fingerprint"] in failure.message
    assert "Nothing was installed" in failure.message

    rc, _ = node_exec("bad", "dpkg -s docker.io")
    assert rc != 0
    rc, _ = node_exec("bad", "test -e /etc/apt/keyrings/docker.asc || test -e /etc/apt/sources.list.d/docker.sources")
    assert rc != 0
