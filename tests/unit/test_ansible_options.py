"""Ansible's own options reach ansible-playbook through the runner, as the CLI passes them: -e, --tags, --skip-tags,
and a vault-encrypted vars file read with --vault-password-file. A real ansible-runner run of a tiny playbook."""

import subprocess
import sys
from pathlib import Path

from swarmlab.runner import AnsibleOptions, ansible_options, run_playbook

BIN = Path(sys.executable).parent

PLAY = """\
- name: Phases
  hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - name: Install phase
      ansible.builtin.set_fact:
        seen_install: "{{ greeting | default('none') }}"
      tags: [install]
    - name: Checks phase
      ansible.builtin.set_fact:
        seen_checks: "{{ secret_word | default('none') }}"
      tags: [checks]
"""


def _ran(result) -> dict[str, object]:
    return {k: v for facts in result.facts.values() for k, v in facts.items()}


def test_tags_run_only_that_phase_and_extra_vars_reach_it(tmp_path):
    book = tmp_path / "play.yml"
    book.write_text(PLAY)
    with ansible_options(AnsibleOptions(extra_vars=("greeting=hello",), tags="install")):
        result = run_playbook(book)
    assert result.ok, result.failures
    assert _ran(result) == {"seen_install": "hello"}  # the checks phase did not run

    with ansible_options(AnsibleOptions(skip_tags="install", extra_vars=('{"secret_word": "json"}',))):
        result = run_playbook(book)
    assert _ran(result) == {"seen_checks": "json"}

    assert _ran(run_playbook(book)) == {"seen_install": "none", "seen_checks": "none"}  # nothing leaks between runs


def test_a_vault_encrypted_vars_file_is_read_with_its_password_file(tmp_path):
    book = tmp_path / "play.yml"
    book.write_text(PLAY)
    password = tmp_path / "vault-pass"
    password.write_text("correct horse\n")
    secrets = tmp_path / "secrets.yml"
    secrets.write_text("secret_word: from-the-vault\n")
    enc = subprocess.run([BIN / "ansible-vault", "encrypt", "--vault-password-file", password, secrets], capture_output=True, text=True)
    assert enc.returncode == 0, enc.stderr
    assert "from-the-vault" not in secrets.read_text()

    with ansible_options(AnsibleOptions(extra_vars=(f"@{secrets}",), vault_password_files=(str(password),), tags="checks")):
        result = run_playbook(book)
    assert result.ok, result.failures
    assert _ran(result) == {"seen_checks": "from-the-vault"}

    with ansible_options(AnsibleOptions(extra_vars=(f"@{secrets}",), tags="checks")):
        locked = run_playbook(book)
    assert not locked.ok  # without the password the file cannot be read
