"""Where the swarm's unlock keys come from (lookup swarmlab.swarm.unlock_keys): the vault's swarm_unlock_key first,
then swarm_unlock_key_file's lines, newest first; a key file others may read is refused, a vault-encrypted one is
read. Through a real ansible-playbook run."""

import subprocess
import sys
from pathlib import Path

from swarmlab.runner import AnsibleOptions, ansible_options, run_playbook

NEW, OLD, VAULTED = "SWMKEY-1-new" + "a" * 40, "SWMKEY-1-old" + "b" * 40, "SWMKEY-1-vlt" + "c" * 40


def keys_are(root, expected, **extravars):
    return run_playbook(root / "tests/unit/playbooks/unlock_keys.yml", extravars={"expected": expected, **extravars})


def test_the_vault_key_comes_first_then_the_files_lines(root, tmp_path):
    key_file = tmp_path / "unlock.key"
    key_file.write_text(f"{NEW}\n{OLD}\n")
    key_file.chmod(0o600)
    r = keys_are(root, [VAULTED, NEW, OLD], swarm_unlock_key=VAULTED, swarm_unlock_key_file=str(key_file))
    assert r.ok, r.failures
    # No file yet (autolock not turned on): no key from it.
    r = keys_are(root, [NEW], swarm_unlock_key=NEW, swarm_unlock_key_file=str(tmp_path / "none.key"))
    assert r.ok, r.failures
    # The same key in both places is tried once.
    key_file.write_text(f"{VAULTED}\n{OLD}\n")
    r = keys_are(root, [VAULTED, OLD], swarm_unlock_key=VAULTED, swarm_unlock_key_file=str(key_file))
    assert r.ok, r.failures


def test_a_key_file_others_may_read_is_refused(root, tmp_path):
    key_file = tmp_path / "unlock.key"
    key_file.write_text(f"{NEW}\n")
    key_file.chmod(0o644)
    r = keys_are(root, [NEW], swarm_unlock_key_file=str(key_file))
    assert not r.ok
    said = " ".join(f.message for f in r.failures) + (r.error or "")
    assert f"chmod 600 {key_file}" in said and NEW not in said


def test_a_vault_encrypted_key_file_is_read(root, tmp_path):
    password = tmp_path / "vault-pass"
    password.write_text("not-a-real-password\n")
    key_file = tmp_path / "unlock.key"
    key_file.write_text(f"{NEW}\n")
    encrypt = subprocess.run([str(Path(sys.executable).parent / "ansible-vault"), "encrypt", "--vault-password-file",
                              str(password), str(key_file)], capture_output=True, text=True)
    assert encrypt.returncode == 0, encrypt.stderr
    assert NEW not in key_file.read_text()
    key_file.chmod(0o644)  # encrypted: its mode does not matter
    with ansible_options(AnsibleOptions(vault_password_files=(str(password),))):
        r = keys_are(root, [NEW], swarm_unlock_key_file=str(key_file))
    assert r.ok, r.failures or r.error
