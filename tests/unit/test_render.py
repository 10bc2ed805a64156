"""docker_engine's repository entry, rendered by Ansible for each supported platform."""

import pytest

from swarmlab.runner import run_playbook

PLATFORMS = [
    (dist, release, arch)
    for dist, release in [("Ubuntu", "noble"), ("Ubuntu", "jammy"), ("Debian", "bookworm"), ("Debian", "trixie")]
    for arch in ["x86_64", "aarch64"]
]


@pytest.fixture(scope="module")
def rendered(root, tmp_path_factory):
    out = tmp_path_factory.mktemp("sources")
    platforms = [{"distribution": d, "distribution_release": r, "architecture": a} for d, r, a in PLATFORMS]
    result = run_playbook(
        root / "tests/unit/playbooks/render_sources.yml", extravars={"out_dir": str(out), "platforms": platforms}
    )
    assert result.ok, result.failures
    return out


def _fields(text):
    return dict(line.split(": ", 1) for line in text.splitlines() if line and not line.startswith("#"))


@pytest.mark.parametrize(("dist", "release", "arch"), PLATFORMS)
def test_repository_entry(rendered, dist, release, arch):
    fields = _fields((rendered / f"{dist}-{release}-{arch}.sources").read_text())
    assert fields == {
        "Types": "deb",
        "URIs": f"https://download.docker.com/linux/{dist.lower()}",
        "Suites": release,
        "Components": "stable",
        "Architectures": {"x86_64": "amd64", "aarch64": "arm64"}[arch],
        "Signed-By": "/etc/apt/keyrings/docker.asc",
    }
