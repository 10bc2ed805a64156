"""The Docker layer: lab images are built once per session; each test module makes its own lab.

Under pytest-xdist (scripts/test runs two workers) the workers share this host's engine: image builds take a
file lock in the session's shared temp directory, and the first worker to get it builds for both."""

import contextlib
import os

import pytest
import requests
from filelock import FileLock

from swarmlab.runner import run_playbook

_SHARED = None  # the session's directory all workers see, set by the shared_dir fixture


@pytest.fixture(scope="session", autouse=True)
def shared_dir(tmp_path_factory):
    global _SHARED
    base = tmp_path_factory.getbasetemp()
    _SHARED = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    return _SHARED


@contextlib.contextmanager
def image_builds(lock, done=None):
    """Holds one of the session's build locks: "images" (lab_images runs), "ready" (the ready-made image's build,
    once). `done`: a marker name; the body is skipped (yields False) when another worker already finished
    it this session, and the marker is written when the body ends without error."""
    with FileLock(_SHARED / f"{lock}.lock"):
        marker = _SHARED / f"{done}.done" if done else None
        if marker and marker.exists():
            yield False
            return
        yield True
        if marker:
            marker.touch()


def ubuntu_images(release, vm=False):
    """Builds the Ubuntu release's lab images (and its VM image); "" then, or why Ubuntu's archive cannot serve them."""
    try:
        requests.head(f"http://archive.ubuntu.com/ubuntu/dists/{release}/Release", timeout=10).raise_for_status()
    except requests.RequestException as exc:
        return f"Ubuntu's archive does not answer ({exc.__class__.__name__})"
    with image_builds("images", f"ubuntu-{release}{'-vm' if vm else ''}") as build:
        if build:
            images = run_playbook("lab/images", extravars={"lab_images_distribution": "ubuntu", "lab_images_suite": release, "lab_images_vm": vm})
            assert images.ok, images.failures or images.error
    return ""


@pytest.fixture(scope="session")
def lab_images(shared_dir):
    with image_builds("images", "lab-images") as build:
        if build:
            result = run_playbook("lab/images")
            assert result.ok, result.failures or result.error


@pytest.fixture(scope="module")
def make_lab(lab_images, tmp_path_factory):
    """Creates labs through lab/nodes.yml, the same code users run; removes them when the test module ends,
    so later modules (the VMs above all) do not share the machine with idle labs."""
    made = {}  # lab name -> its lab_down variables (a lab grown by a second call is removed once)

    def make(name, subnet, nodes, playbook="lab/nodes", on_event=None, **extravars):
        """`playbook`: one that begins with lab/nodes.yml and reads the inventory it wrote (the run's -i)."""
        inventory = tmp_path_factory.mktemp(name) / "hosts.yml"
        common = {"lab_nodes_lab": name, "lab_nodes_inventory": str(inventory)}
        result = run_playbook(
            playbook,
            inventory if playbook != "lab/nodes" else None,
            {**common, **extravars, "lab_nodes_subnet": subnet, "lab_nodes_nodes": nodes},
            on_event=on_event,
        )
        made[name] = common
        assert result.ok, result.failures or result.error
        return inventory

    def make_locked(name, subnet, nodes, playbook="lab/nodes", on_event=None, **extravars):
        # The first ready-made container lab builds the ready-made image; the other worker's waits, then uses it.
        if not extravars.get("lab_nodes_ready") or extravars.get("lab_nodes_driver", "container") != "container":
            return make(name, subnet, nodes, playbook, on_event, **extravars)
        with image_builds("ready", "ready-image") as build:
            if build:
                return make(name, subnet, nodes, playbook, on_event, **extravars)
        return make(name, subnet, nodes, playbook, on_event, **extravars)

    yield make_locked
    for common in made.values():
        run_playbook("lab/down", extravars=common)
