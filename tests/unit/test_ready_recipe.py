"""The ready-made image's recipe reads the docker_engine role's files, and not the bytecode Python leaves
beside its filter plugin after its first use: a fresh clone has none, so counting it rebuilt the image once
it appeared (and on every switch between two checkouts)."""

import json
import os
import shutil

from swarmlab.runner import run_playbook


def test_recipe_files_leave_out_python_bytecode(root, tmp_path):
    roles = tmp_path / "roles"
    shutil.copytree(root / "roles/docker_engine", roles / "docker_engine", ignore=shutil.ignore_patterns("__pycache__"))
    (roles / "lab_images").mkdir()
    (tmp_path / "plugins/filter").mkdir(parents=True)
    shutil.copy(root / "plugins/filter/docker_engine.py", tmp_path / "plugins/filter")
    cache = tmp_path / "plugins/filter/__pycache__"
    cache.mkdir()
    (cache / "docker_engine.cpython-312.pyc").write_bytes(b"\x00bytecode")
    out = tmp_path / "files.json"

    result = run_playbook(
        root / "tests/unit/playbooks/ready_files.yml",
        extravars={"role_path": str(roles / "lab_images"), "out": str(out)},
    )

    assert result.ok, result.failures
    listed = sorted(os.path.relpath(os.path.normpath(p), tmp_path) for p in json.loads(out.read_text()))
    expected = sorted(
        str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file() and p.suffix != ".pyc" and p != out
    )
    assert listed == expected
    assert "plugins/filter/docker_engine.py" in listed
    assert "roles/docker_engine/tasks/main.yml" in listed
