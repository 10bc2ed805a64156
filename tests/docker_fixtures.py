"""The Docker layer: lab images are built once per session; each test module makes its own lab."""

import pytest

from swarmlab.runner import run_playbook


@pytest.fixture(scope="session")
def lab_images():
    result = run_playbook("lab_images")
    assert result.ok, result.failures or result.error
    return result


@pytest.fixture(scope="session")
def make_lab(lab_images, tmp_path_factory):
    """Creates labs through lab_up.yml, the same code users run; removes them at the end."""
    made = []

    def make(name, subnet, nodes, **extravars):
        inventory = tmp_path_factory.mktemp(name) / "hosts.yml"
        common = {"lab_nodes_lab": name, "lab_nodes_inventory": str(inventory)}
        result = run_playbook(
            "lab_up", extravars={**common, **extravars, "lab_nodes_subnet": subnet, "lab_nodes_nodes": nodes}
        )
        made.append(common)
        assert result.ok, result.failures or result.error
        return inventory

    yield make
    for common in made:
        run_playbook("lab_down", extravars=common)
