"""Where the project's Ansible content lives."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PLAYBOOKS = ROOT / "playbooks"
ANSIBLE_CFG = ROOT / "ansible.cfg"
LAB_INVENTORY = ROOT / "inventory" / "lab" / "hosts.yml"


def playbook(name: str) -> Path:
    return PLAYBOOKS / (name if name.endswith(".yml") else f"{name}.yml")


def lab_state(lab: str) -> Path:
    """Where a lab keeps its keys and VMs (lab_nodes_state_dir)."""
    return Path.home() / ".local" / "state" / "swarmlab" / lab
