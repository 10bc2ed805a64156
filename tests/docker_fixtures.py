"""The Docker layer: lab images are built once per session; each test module makes its own lab."""

import pytest

from swarmlab.runner import run_playbook


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

    def make(name, subnet, nodes, **extravars):
        inventory = tmp_path_factory.mktemp(name) / "hosts.yml"
        common = {"lab_nodes_lab": name, "lab_nodes_inventory": str(inventory)}
        result = run_playbook(
            "lab_up", extravars={**common, **extravars, "lab_nodes_subnet": subnet, "lab_nodes_nodes": nodes}
        )
        made[name] = common
        assert result.ok, result.failures or result.error
        return inventory

    yield make
    for common in made.values():
        run_playbook("lab_down", extravars=common)
