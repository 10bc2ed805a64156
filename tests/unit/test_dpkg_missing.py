"""docker_engine's gate before apt: which wanted packages dpkg-query does not show as installed."""

import pytest

from tests.conftest import load_plugin


@pytest.fixture(scope="module")
def missing(root):
    return load_plugin(root / "plugins/filter/docker_engine.py", "docker_engine_filters").dpkg_missing


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


@pytest.fixture(scope="module")
def filters(root):
    return load_plugin(root / "plugins/filter/docker_engine.py", "docker_engine_filters")


def test_a_held_package_is_installed(missing):
    assert missing(["docker.io"], ["docker.io 20.10.24+dfsg1-1+deb12u1+b6 hi "]) == []


def test_the_hold_changes_only_packages_dpkg_does_not_show_so(filters):
    lines = ["docker-ce 5:28.5.2-1~ubuntu.24.04~noble hi ", "containerd.io 1.7.28-1 ii ", "docker-ce-cli 5:28.5.2-1 iU "]
    wanted = ["docker-ce", "containerd.io", "docker-ce-cli", "docker-compose-plugin"]
    assert filters.dpkg_unselected(wanted, lines, "hold") == ["containerd.io", "docker-ce-cli", "docker-compose-plugin"]
    assert filters.dpkg_unselected(wanted, lines, "install") == ["docker-ce", "docker-ce-cli", "docker-compose-plugin"]
    # Nothing read (apt ran since): every package.
    assert filters.dpkg_unselected(wanted, [], "install") == wanted


def test_the_engines_major_version_without_epoch_or_revision(filters):
    assert filters.dpkg_major("docker-ce", LINES) == 28
    assert filters.dpkg_major("docker.io", ["docker.io 20.10.24+dfsg1-1+deb12u1+b6 ii "]) == 20
    assert filters.dpkg_major("docker.io", ["docker.io 26.1.3-0ubuntu1~24.04.1 hi "]) == 26
    assert filters.dpkg_major("docker-buildx-plugin", LINES) is None  # half-installed
    assert filters.dpkg_major("docker.io", []) is None


@pytest.fixture(scope="module")
def filters(root):
    return load_plugin(root / "plugins/filter/docker_engine.py", "docker_engine_filters")


def test_each_change_says_what_apt_does_from_what_dpkg_has(filters):
    changes = ["docker-ce=5:28.5.2-2~ubuntu.24.04~noble", "docker-compose-plugin", "docker.io"]
    assert filters.change_lines(changes, LINES + ["docker.io 26.1.3-0ubuntu1 ii "], ["docker.io"]) == [
        "docker-ce 5:28.5.2-1~ubuntu.24.04~noble → 5:28.5.2-2~ubuntu.24.04~noble",
        "docker-compose-plugin not installed → newest",
        "docker.io 26.1.3-0ubuntu1 removed",
    ]


def test_a_rolling_upgrade_takes_managers_first_the_leader_last_then_workers(filters):
    members = [
        {"host": "worker1", "manager": False, "leader": False},
        {"host": "manager1", "manager": True, "leader": True},
        {"host": "manager2", "manager": True, "leader": False},
        {"host": "worker2", "manager": False, "leader": False},
        {"host": "manager3", "manager": True, "leader": False},
    ]
    assert filters.upgrade_order(members) == ["manager2", "manager3", "manager1", "worker1", "worker2"]
    assert filters.upgrade_order([]) == []
