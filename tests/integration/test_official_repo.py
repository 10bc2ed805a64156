"""docker_engine's default install: docker-ce, docker-ce-cli, containerd.io, docker-buildx-plugin and
docker-compose-plugin by Docker's names and version strings, from a local signed mirror in Docker's layout
(repackaged from the distribution's packages: Docker's repository is out of reach), on Debian 12 nodes in CI and
Ubuntu 24.04 nodes in the slow tier. One lab per release; the tests run in file order for each."""

import pytest

from swarmlab.runner import run_playbook
from tests.docker_fixtures import ubuntu_images
from tests.mirror import PACKAGES, Mirror

pytestmark = pytest.mark.docker

DOCKER_FPR = "9DC858229FC7DD38854AE2D88D81803C0EBFCD88"
RELEASES = {
    "bookworm": {"distribution": "debian", "subnet": "172.30.20.0/24", "suffix": "~debian.12~bookworm"},
    "noble": {"distribution": "ubuntu", "subnet": "172.30.31.0/24", "suffix": "~ubuntu.24.04~noble"},
}


@pytest.fixture(scope="module", params=list(RELEASES))
def mirror(request, make_lab, root):
    release = request.param
    if RELEASES[release]["distribution"] == "ubuntu":
        if unavailable := ubuntu_images(release):
            pytest.skip(f"{unavailable}; Ubuntu {release} is not tested here")
    nodes = [{"name": "mirror", "role": "manager"}, {"name": "good", "role": "worker"}, {"name": "bad", "role": "worker"}]
    inventory = make_lab(f"it-repo-{release}", RELEASES[release]["subnet"], nodes, lab_nodes_image=f"swarmlab/node:{release}")
    result = run_playbook(root / "tests/integration/playbooks/apt_mirror.yml", inventory)
    assert result.ok, result.failures or result.error
    m = Mirror(release, inventory, f"it-repo-{release}", RELEASES[release]["distribution"])
    suffix = RELEASES[release]["suffix"]
    # Two docker-ce builds in Docker's version format, the rest once.
    assert len(m.versions["docker-ce"]) == 2 and all(v.startswith("5:") and v.endswith(suffix) for v in m.versions["docker-ce"])
    assert m.versions["docker-ce-cli"] == m.versions["docker-ce"]
    assert set(PACKAGES) <= set(m.versions)
    return m


# Checked on Debian 12 in CI; Ubuntu 24.04's run is in the slow tier (its install replaces the release's own CLI
# plugins too; about 4.5 min of CI, while Ubuntu 24.04 and 22.04 with their docker.io stay in CI: test_ubuntu.py).
BOOKWORM_IN_CI = pytest.mark.parametrize("mirror", ["bookworm", pytest.param("noble", marks=pytest.mark.slow)], indirect=True)


@BOOKWORM_IN_CI
def test_check_mode_before_the_repository_is_added_changes_nothing(mirror):
    result = run_playbook("docker", mirror.inventory, mirror.official(), limit="good", check=True)
    assert result.ok, result.failures or result.error
    assert ("good", "Add Docker's repository") in [(h, t) for h, t in result.changes]
    rc, out = mirror.sh("good", "ls /etc/apt/keyrings /etc/apt/sources.list.d; ls /tmp")
    assert "docker" not in out, out
    assert mirror.installed("good") == {}


@BOOKWORM_IN_CI
def test_replaces_the_distributions_engine_with_docker_ce_pinned_and_held(mirror):
    # A node that runs the distribution's docker.io, as many do before they move to Docker's packages, with
    # the release's own CLI plugins where it has them (their files are the plugin packages' files too).
    plugins = ["docker-buildx", "docker-compose-v2"] if mirror.release == "noble" else []
    distro = run_playbook("docker", mirror.inventory, {"docker_engine_source": "distro", "docker_engine_distro_packages": ["docker.io", *plugins]}, limit="good")
    assert distro.ok, distro.failures or distro.error
    assert {"docker.io", *plugins} <= set(mirror.installed("good"))

    old = mirror.versions["docker-ce"][0]
    first = run_playbook("docker", mirror.inventory, mirror.official(docker_engine_version=old, docker_engine_hold=True), limit="good")
    assert first.ok, first.failures or first.error
    again = run_playbook("docker", mirror.inventory, mirror.official(docker_engine_version=old, docker_engine_hold=True), limit="good")
    assert again.ok and again.stats["good"].changed == 0, again.changes

    installed = mirror.installed("good")
    assert installed == {
        "docker-ce": old,
        "docker-ce-cli": old,
        **{p: mirror.versions[p][-1] for p in ("containerd.io", "docker-buildx-plugin", "docker-compose-plugin")},
    }, installed  # docker.io, containerd, runc and the release's own plugins are gone
    rc, held = mirror.sh("good", "apt-mark showhold")
    assert sorted(held.split()) == sorted(PACKAGES), held
    rc, owner = mirror.sh("good", 'dpkg -S "$(command -v dockerd)" "$(command -v docker)"')
    assert [line.split(":")[0] for line in owner.splitlines()] == ["docker-ce", "docker-ce-cli"], owner
    rc, server = mirror.sh("good", "docker version --format '{{.Server.Version}}'")
    assert rc == 0 and server.startswith(old.split(":")[1].split("-")[0]), server

    rc, policy = mirror.sh("good", "apt-cache policy docker-ce")
    assert rc == 0 and f"{mirror.url} {mirror.release}/stable" in policy, policy
    rc, sources = mirror.sh("good", "cat /etc/apt/sources.list.d/docker.sources")
    assert f"URIs: {mirror.url}" in sources and "Signed-By: /etc/apt/keyrings/docker.asc" in sources
    # The key was checked in a scratch file, not left beside the keyring.
    assert mirror.sh("good", "ls /etc/apt/keyrings")[1].split() == ["docker.asc"]

    # The CLI plugins answer wherever their package carries one (Ubuntu has them; Debian 12 has no such package).
    for plugin in ("buildx", "compose"):
        rc, files = mirror.sh("good", f"dpkg -L docker-{plugin}-plugin")
        carried = f"/usr/libexec/docker/cli-plugins/docker-{plugin}" in files.split()
        rc, out = mirror.sh("good", f"docker {plugin} version")
        assert (rc == 0) == carried, (plugin, files, out)
        if carried:
            assert mirror.versions[f"docker-{plugin}-plugin"][-1].split("-")[0] in out, out
        else:  # Ubuntu's plugins are in its archive: there the branch above must have run
            assert mirror.release != "noble", (plugin, files)


@BOOKWORM_IN_CI
def test_a_newer_pin_moves_the_held_engine(mirror):
    new = mirror.versions["docker-ce"][1]
    _, before = mirror.sh("good", "systemctl show -p ExecMainPID --value docker")
    result = run_playbook("docker", mirror.inventory, mirror.official(docker_engine_version=new, docker_engine_hold=True), limit="good")
    assert result.ok, result.failures or result.error
    again = run_playbook("docker", mirror.inventory, mirror.official(docker_engine_version=new, docker_engine_hold=True), limit="good")
    assert again.ok and again.stats["good"].changed == 0, again.changes

    installed = mirror.installed("good")
    assert installed["docker-ce"] == new and installed["docker-ce-cli"] == new, installed
    rc, held = mirror.sh("good", "apt-mark showhold")
    assert sorted(held.split()) == sorted(PACKAGES), held
    # The upgrade restarted the engine, and it answers.
    _, after = mirror.sh("good", "systemctl show -p ExecMainPID --value docker")
    assert after.strip() not in ("0", before.strip()), (before, after)
    rc, out = mirror.sh("good", "docker info --format '{{.ServerVersion}}'")
    assert rc == 0 and out.strip(), out


@BOOKWORM_IN_CI
def test_hosts_beside_the_units_own_h_are_refused(mirror):
    # docker.service starts dockerd with -H fd://; dockerd refuses to start with hosts in daemon.json too.
    state = "cat /etc/docker/daemon.json; systemctl show -p ExecMainPID --value docker"
    _, before = mirror.sh("good", state)
    pinned = {"docker_engine_version": mirror.versions["docker-ce"][1], "docker_engine_hold": True}
    options = {"docker_engine_daemon_options": {"hosts": ["unix:///var/run/docker.sock"]}}
    result = run_playbook("docker", mirror.inventory, mirror.official(**pinned, **options), limit="good")
    assert not result.ok
    [failure] = result.failures
    assert "starts dockerd with -H" in failure.message and "Nothing was written" in failure.message, failure.message
    assert mirror.sh("good", state)[1] == before  # the same daemon.json, the same engine process
    rc, out = mirror.sh("good", "docker info --format '{{.ServerVersion}}'")
    assert rc == 0, out


@BOOKWORM_IN_CI
def test_wrong_fingerprint_installs_nothing(mirror):
    result = run_playbook("docker", mirror.inventory, mirror.official(DOCKER_FPR), limit="bad")
    assert not result.ok
    [failure] = result.failures
    assert failure.host == "bad"
    assert f"not the pinned {DOCKER_FPR}" in failure.message
    assert mirror.fingerprint in failure.message
    assert "Nothing was installed" in failure.message

    assert mirror.installed("bad") == {}
    rc, _ = mirror.sh("bad", "test -e /etc/apt/keyrings/docker.asc || test -e /etc/apt/sources.list.d/docker.sources")
    assert rc != 0
