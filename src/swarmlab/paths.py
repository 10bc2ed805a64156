"""Where the project's Ansible content lives."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PLAYBOOKS = ROOT / "playbooks"
ANSIBLE_CFG = ROOT / "ansible.cfg"
LAB_INVENTORY = ROOT / "inventory" / "lab" / "hosts.yml"


def playbook(name: str) -> Path:
    return PLAYBOOKS / (name if name.endswith(".yml") else f"{name}.yml")
