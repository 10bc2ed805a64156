"""lab_vm's plan (check mode, as vm.yml asks it before anything starts): which VMs would start, and which
would get a fresh disk because their image was rebuilt. The module runs for real, without booting."""

import io
import json
from contextlib import redirect_stdout

import pytest
from ansible.module_utils.testing import patch_module_args

from tests.conftest import load_plugin


@pytest.fixture(scope="module")
def lab_vm(root):
    return load_plugin(root / "roles/lab_nodes/library/lab_vm.py", "lab_vm_module")


@pytest.fixture
def image(tmp_path):
    path = tmp_path / "image"
    path.mkdir()
    (path / "recipe").write_text("new\n")
    return path


def plan(lab_vm, vm_dir, image):
    args = {"name": "lab-worker1", "dir": str(vm_dir), "image": str(image), "tap": "sl0-1", "_ansible_check_mode": True}
    out = io.StringIO()
    with patch_module_args(args), redirect_stdout(out), pytest.raises(SystemExit):
        lab_vm.main()
    return json.loads(out.getvalue())


def recorded(vm_dir, recipe, disk=True):
    vm_dir.mkdir()
    (vm_dir / "vm.json").write_text(json.dumps({"spec": {"recipe": recipe}}))
    if disk:
        (vm_dir / "disk.qcow2").write_text("overlay")


def test_a_new_vm_starts_with_a_new_disk_and_no_warning(lab_vm, image, tmp_path):
    result = plan(lab_vm, tmp_path / "vm", image)
    assert result["starting"] and result["changed"] and not result["fresh_disk"]


def test_a_stopped_vm_keeps_its_disk(lab_vm, image, tmp_path):
    recorded(tmp_path / "vm", "new")
    result = plan(lab_vm, tmp_path / "vm", image)
    assert result["starting"] and not result["fresh_disk"]
    assert (tmp_path / "vm" / "disk.qcow2").exists()  # check mode removes nothing


def test_a_rebuilt_image_means_a_fresh_disk(lab_vm, image, tmp_path):
    recorded(tmp_path / "vm", "old")
    result = plan(lab_vm, tmp_path / "vm", image)
    assert result["starting"] and result["fresh_disk"]
    assert (tmp_path / "vm" / "disk.qcow2").exists()


def test_no_disk_yet_is_no_loss(lab_vm, image, tmp_path):
    recorded(tmp_path / "vm", "old", disk=False)
    assert not plan(lab_vm, tmp_path / "vm", image)["fresh_disk"]
