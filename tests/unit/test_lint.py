"""yamllint and ansible-lint (production profile) over the whole tree."""

import subprocess
import sys
from pathlib import Path

BIN = Path(sys.executable).parent


def _run(root, *argv):
    return subprocess.run(argv, cwd=root, capture_output=True, text=True, timeout=600)


def test_yamllint(root):
    r = _run(root, str(BIN / "yamllint"), "-s", ".")
    assert r.returncode == 0, r.stdout + r.stderr


def test_ansible_lint_production(root):
    r = _run(root, str(BIN / "ansible-lint"), "--profile", "production", "--nocolor")
    assert r.returncode == 0, r.stdout + r.stderr


def test_playbooks_syntax(root):
    books = sorted((root / "playbooks").glob("*.yml"))
    assert books
    r = _run(root, str(BIN / "ansible-playbook"), "--syntax-check", "-i", "localhost,", *map(str, books))
    assert r.returncode == 0, r.stdout + r.stderr
