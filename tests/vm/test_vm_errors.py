"""The vm driver's errors: each says what is wrong and what to do, and leaves nothing half made."""

import hashlib
import shutil
import subprocess

import pytest

from swarmlab import lab, paths
from swarmlab.runner import run_playbook

pytestmark = pytest.mark.vm

# The ready-made VM image, which tests/vm/test_vm_lab.py boots too: one image build for both.
IMAGE = "/var/tmp/swarmlab-vm/bookworm-ready"


@pytest.fixture
def lab_up(lab_images, tmp_path):
    """lab/nodes.yml for a one-VM lab; the lab is removed after the test."""
    made = []

    def up(name, **extravars):
        common = {"lab_nodes_lab": name, "lab_nodes_inventory": str(tmp_path / "hosts.yml")}
        made.append(common)
        return run_playbook(
            "lab/nodes",
            extravars={**common, "lab_nodes_driver": "vm", "lab_nodes_ready": True, "lab_nodes_subnet": "172.30.41.0/24",
                       "lab_nodes_vm_subnet": "192.168.97.0/24", "lab_nodes_workers": 0, **extravars},
        )

    yield up
    for common in made:
        down = run_playbook("lab/down", extravars=common)
        assert down.ok, down.failures or down.error


def qemu_processes(name):
    return [line for line in subprocess.run(["pgrep", "-af", "qemu-system"], capture_output=True, text=True).stdout.splitlines() if name in line]


def test_not_enough_memory_is_refused_before_any_vm_starts(lab_up, tmp_path):
    result = lab_up("it-vm-mem", lab_nodes_memory="4000g")
    assert not result.ok
    [failure] = result.failures
    assert "Not enough memory for manager1" in failure.message and "--memory" in failure.message, failure.message
    # The accelerator was chosen first; without KVM one line says the VMs would run slowly under TCG.
    accel = (paths.lab_state("it-vm-mem") / "accel").read_text().strip()
    tcg = [w for w in result.warnings if w.startswith("KVM cannot boot a guest on this host")]
    assert accel in ("kvm", "tcg") and len(tcg) == (accel == "tcg") and all("TCG" in w for w in tcg), result.warnings
    assert not qemu_processes("it-vm-mem") and not lab.vms("it-vm-mem")
    assert not (tmp_path / "hosts.yml").exists()


def test_a_subnet_this_host_already_routes_is_refused_before_anything_is_made(lab_up, tmp_path):
    # Docker's own bridge (docker0, 172.17.0.0/16) covers it.
    result = lab_up("it-vm-net", lab_nodes_vm_subnet="172.17.0.0/24")
    assert not result.ok
    [failure] = result.failures
    assert "lab_nodes_vm_subnet 172.17.0.0/24 overlaps a network this host already has (172.17.0.0/16 dev docker0" in failure.message
    assert "choose a free /24 with lab_nodes_vm_subnet" in failure.message
    assert not qemu_processes("it-vm-net") and not (tmp_path / "hosts.yml").exists()
    bridge = "sl" + hashlib.sha1(b"it-vm-net").hexdigest()[:6]  # lab_nodes_vm_prefix
    assert bridge not in subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout


def test_a_vm_that_does_not_boot_shows_its_console(lab_up, tmp_path):
    # The image's kernel with a corrupt initrd: qemu starts, the guest panics and never reaches SSH.
    broken = tmp_path / "image-ready"  # what a ready-made lab boots for lab_nodes_vm_image=tmp_path/image
    shutil.copytree(IMAGE, broken, ignore=shutil.ignore_patterns("disk.raw", "initrd.img"))
    (broken / "disk.raw").symlink_to(f"{IMAGE}/disk.raw")
    (broken / "initrd.img").write_bytes(b"not an initrd" * 1000)
    result = lab_up("it-vm-boot", lab_nodes_vm_image=str(tmp_path / "image"), lab_nodes_vm_boot_timeout=30)
    assert not result.ok
    message = result.failures[-1].message
    assert "Last lines of manager1's console" in message and "Kernel panic" in message, message
    assert not (tmp_path / "hosts.yml").exists()


def test_lab_down_after_a_failed_boot_leaves_nothing():
    assert not qemu_processes("it-vm-boot") and not paths.lab_state("it-vm-boot").exists()
