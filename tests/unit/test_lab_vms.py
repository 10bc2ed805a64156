"""The vm driver's plan (lab_nodes' lab_vms and lab_vm_args filters): addresses, taps, sizes, identity."""

import pytest

from tests.conftest import load_plugin


@pytest.fixture(scope="module")
def plan(root):
    return load_plugin(root / "roles/lab_nodes/filter_plugins/lab_vms.py", "lab_vms_filters")


WALKTHROUGH = [
    {"name": "mestre", "role": "manager"},
    {"name": "escravo1", "role": "worker"},
    {"name": "escravo2", "role": "worker", "memory": "512m", "disk": "5000m"},
]


def test_addresses_taps_and_docker_machine_sizes(plan):
    vms = plan.lab_vms(WALKTHROUGH, "192.168.99.0/24", "sl1a2b3c")
    assert [(v["name"], v["ip"], v["tap"]) for v in vms] == [
        ("mestre", "192.168.99.100", "sl1a2b3c-0"), ("escravo1", "192.168.99.101", "sl1a2b3c-1"), ("escravo2", "192.168.99.102", "sl1a2b3c-2")]
    # docker-machine's VirtualBox defaults (1024 MB, 20000 MB) unless a node sets its own.
    assert [(v["memory"], v["disk"]) for v in vms] == [(1024, 20000), (1024, 20000), (512, 5000)]
    assert all(len(v["tap"]) <= 15 for v in vms)


def test_lab_memory_cpus_and_ports(plan):
    nodes = [{"name": "a", "role": "manager", "cpus": 1.5, "ports": ["8085:85"]}, {"name": "b"}]
    vms = plan.lab_vms(nodes, "10.9.8.0/24", "p", memory="768m", cpus=0, ports=["8022:22"])
    assert [(v["role"], v["memory"], v["cpus"], v["ports"]) for v in vms] == [
        ("manager", 768, 2, ["8085:85", "8022:22"]), ("worker", 768, 1, ["8022:22"])]


def test_module_arguments_carry_identity_not_secrets(plan):
    vms = plan.lab_vms(WALKTHROUGH[:1], "192.168.99.0/24", "sl1a2b3c")
    args = plan.lab_vm_args(vms, "swarmlab", "/state/vms", "/img", "tcg", "swarmlab", "ssh-ed25519 AAAA lab", "/state/host_keys")
    mestre = args["mestre"]
    assert (mestre["name"], mestre["dir"], mestre["accel"]) == ("swarmlab-mestre", "/state/vms/mestre", "tcg")
    assert mestre["seed"] == {"hostname": "mestre", "address": "192.168.99.100/24", "user": "swarmlab", "authorized_keys": "ssh-ed25519 AAAA lab"}
    # The private host key goes by path, so it never appears among the task's arguments.
    assert mestre["seed_files"] == {"ssh_host_ed25519_key": "/state/host_keys/mestre", "ssh_host_ed25519_key.pub": "/state/host_keys/mestre.pub"}


def test_a_node_may_boot_another_image(plan):
    nodes = [{"name": "m", "role": "manager"}, {"name": "w", "vm_image": "/var/tmp/swarmlab-vm/noble"}]
    args = plan.lab_vm_args(plan.lab_vms(nodes, "10.9.8.0/24", "p"), "l", "/s", "/var/tmp/swarmlab-vm/bookworm", "tcg", "u", "k", "/h")
    assert [args[n]["image"] for n in ("m", "w")] == ["/var/tmp/swarmlab-vm/bookworm", "/var/tmp/swarmlab-vm/noble"]
