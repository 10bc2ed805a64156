"""The container driver's addresses (lab_nodes' lab_addresses filter): kept across runs, new ones never taken."""

import pytest
from ansible.errors import AnsibleFilterError

from tests.conftest import load_plugin


@pytest.fixture(scope="module")
def addresses(root):
    return load_plugin(root / "roles/lab_nodes/filter_plugins/lab_addresses.py", "lab_addresses_filters").lab_addresses


def container(name, network, address):
    return {"Names": [f"/{name}"], "NetworkSettings": {"Networks": {network: {"IPAddress": address}}}}


def test_a_new_lab_takes_addresses_in_order_after_the_gateway(addresses):
    names = ["lab-apt-cache", "lab-manager1", "lab-worker1"]
    assert addresses(names, "172.30.0.0/24", [], "lab") == {
        "lab-apt-cache": "172.30.0.2", "lab-manager1": "172.30.0.3", "lab-worker1": "172.30.0.4"}


def test_containers_keep_their_addresses_and_new_ones_take_free_ones(addresses):
    # The lab made with its package cache, re-made without it (a ready-made lab), plus a new worker.
    now = [container("lab-apt-cache", "lab", "172.30.0.2"), container("lab-manager1", "lab", "172.30.0.3"),
           container("lab-worker1", "lab", "172.30.0.4"), container("other", "elsewhere", "10.0.0.5")]
    assert addresses(["lab-manager1", "lab-worker1", "lab-worker2"], "172.30.0.0/24", now, "lab") == {
        "lab-manager1": "172.30.0.3", "lab-worker1": "172.30.0.4", "lab-worker2": "172.30.0.5"}


def test_a_stopped_container_or_an_address_outside_the_subnet_is_not_kept(addresses):
    now = [container("lab-manager1", "lab", ""), container("lab-worker1", "lab", "10.1.0.9")]
    assert addresses(["lab-manager1", "lab-worker1"], "172.30.0.0/24", now, "lab") == {
        "lab-manager1": "172.30.0.2", "lab-worker1": "172.30.0.3"}


def test_a_full_subnet_says_what_to_do(addresses):
    with pytest.raises(AnsibleFilterError, match="larger lab_nodes_subnet"):
        addresses(["lab-a", "lab-b", "lab-c"], "172.30.0.0/30", [], "lab")
