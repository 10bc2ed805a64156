"""The Docker layer: lab images are built once per session; each test module makes its own lab."""

import pytest
import requests

from swarmlab.runner import run_playbook


def ubuntu_images(release, vm=False):
    """Builds the Ubuntu release's lab images (and its VM image); "" then, or why Ubuntu's archive cannot serve them."""
    try:
        requests.head(f"http://archive.ubuntu.com/ubuntu/dists/{release}/Release", timeout=10).raise_for_status()
    except requests.RequestException as exc:
        return f"Ubuntu's archive does not answer ({exc.__class__.__name__})"
    images = run_playbook("lab_images", extravars={"lab_images_distribution": "ubuntu", "lab_images_suite": release, "lab_images_vm": vm})
    assert images.ok, images.failures or images.error
    return ""


@pytest.fixture(scope="session")
def lab_images():
    result = run_playbook("lab_images")
    assert result.ok, result.failures or result.error
    return result


@pytest.fixture(scope="module")
def make_lab(lab_images, tmp_path_factory):
    """Creates labs through lab_up.yml, the same code users run; removes them when the test module ends,
    so later modules (the VMs above all) do not share the machine with idle labs."""
    made = {}  # lab name -> its lab_down variables (a lab grown by a second call is removed once)

    def make(name, subnet, nodes, playbook="lab_up", on_event=None, **extravars):
        """`playbook`: one that begins with lab_up.yml and reads the inventory it wrote (the run's -i)."""
        inventory = tmp_path_factory.mktemp(name) / "hosts.yml"
        common = {"lab_nodes_lab": name, "lab_nodes_inventory": str(inventory)}
        result = run_playbook(
            playbook,
            inventory if playbook != "lab_up" else None,
            {**common, **extravars, "lab_nodes_subnet": subnet, "lab_nodes_nodes": nodes},
            on_event=on_event,
        )
        made[name] = common
        assert result.ok, result.failures or result.error
        return inventory

    yield make
    for common in made.values():
        run_playbook("lab_down", extravars=common)
