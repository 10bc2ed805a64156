"""Molecule scenarios: converge, idempotence (changed=0), testinfra verify, on lab nodes."""

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.docker


@pytest.mark.parametrize("scenario", ["docker_engine", "swarm"])
def test_scenario(root, lab_images, scenario):
    molecule = Path(sys.executable).parent / "molecule"
    r = subprocess.run([str(molecule), "test", "-s", scenario], cwd=root, capture_output=True, text=True, timeout=1800)
    assert r.returncode == 0, (r.stdout + r.stderr)[-6000:]
    # Join tokens are no_log everywhere: Molecule's whole log must not carry one.
    assert "SWMTKN-" not in r.stdout + r.stderr
