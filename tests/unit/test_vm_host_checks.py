"""The vm driver's host checks run before lab/nodes.yml builds or starts anything, and say what to do."""

import shutil
import subprocess
import sys
from pathlib import Path

from swarmlab import paths

BIN = Path(sys.executable).parent


def lab_up_vm(home, env, wrap=()):
    inventory = home / "hosts.yml"
    out = subprocess.run(
        [*wrap, str(BIN / "ansible-playbook"), str(paths.playbook("lab/nodes")), "-e", "lab_nodes_driver=vm", "-e", "lab_nodes_lab=t-vmcheck",
         "-e", f"lab_nodes_inventory={inventory}"],
        capture_output=True, text=True, timeout=120,
        env={"HOME": str(home), "ANSIBLE_CONFIG": str(paths.ANSIBLE_CFG), "ANSIBLE_NOCOLOR": "1", **env},
    )
    return out, inventory


def test_without_qemu_the_vm_driver_says_what_to_install(tmp_path):
    # A PATH with Ansible and `id`, but no qemu.
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "id").symlink_to(shutil.which("id"))
    out, inventory = lab_up_vm(tmp_path, {"PATH": f"{BIN}:{tmp_path / 'bin'}"})
    assert out.returncode != 0
    assert "qemu is missing: apt-get install qemu-system-x86 qemu-utils (scripts/bootstrap.sh installs them)." in out.stdout
    assert "Build the base, node, service and VM images" not in out.stdout and not inventory.exists()


def test_not_as_root_the_vm_driver_says_so_before_building_anything(tmp_path):
    # Ansible as uid 1000 in a user namespace: not root, though it still reads this checkout.
    out, inventory = lab_up_vm(tmp_path, {"PATH": f"{BIN}:/usr/bin:/bin"}, wrap=["unshare", "--user", "--map-user=1000", "--map-group=1000"])
    assert out.returncode != 0
    assert "The vm driver needs root: it creates a bridge, taps and a firewall rule (run as root or with sudo)." in out.stdout, out.stdout[-2000:]
    assert "Build the base, node, service and VM images" not in out.stdout and not inventory.exists()
