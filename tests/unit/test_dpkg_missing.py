"""docker_engine's gate before apt: which wanted packages dpkg-query does not show as installed."""

import pytest

from tests.conftest import load_plugin


@pytest.fixture(scope="module")
def missing(root):
    return load_plugin(root / "roles/docker_engine/filter_plugins/docker_engine.py", "docker_engine_filters").dpkg_missing


# As dpkg-query --show --showformat='${Package} ${Version} ${db:Status-Abbrev}\n' prints them.
LINES = [
    "docker-ce 5:28.5.2-1~ubuntu.24.04~noble ii ",
    "docker-ce-cli 5:28.5.2-1~ubuntu.24.04~noble ii ",
    "containerd.io 1.7.28-1 ii ",
    "python3-docker 5.0.3-1 rc ",  # removed, its configuration left: not installed
    "docker-buildx-plugin 0.29.1-1 iU ",  # unpacked, not configured
]


def test_installed_packages_need_no_apt(missing):
    assert missing(["docker-ce", "docker-ce-cli", "containerd.io"], LINES) == []


def test_unknown_removed_and_half_installed_packages_are_missing(missing):
    wanted = ["docker-ce", "python3-docker", "docker-buildx-plugin", "docker-compose-plugin"]
    assert missing(wanted, LINES) == ["python3-docker", "docker-buildx-plugin", "docker-compose-plugin"]


def test_a_pinned_version_must_match_exactly_or_by_apts_wildcard(missing):
    assert missing(["docker-ce=5:28.5.2-1~ubuntu.24.04~noble"], LINES) == []
    assert missing(["docker-ce=5:28.5.*"], LINES) == []
    assert missing(["docker-ce=5:27.0.0-1~ubuntu.24.04~noble", "containerd.io"], LINES) == ["docker-ce=5:27.0.0-1~ubuntu.24.04~noble"]


def test_multiarch_names_and_no_output(missing):
    assert missing(["libc6"], ["libc6:amd64 2.36-9 ii "]) == []
    assert missing(["docker.io"], []) == ["docker.io"]
