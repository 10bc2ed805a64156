"""Where the project's Ansible content lives."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PLAYBOOKS = ROOT / "playbooks"
ANSIBLE_CFG = ROOT / "ansible.cfg"
# Holds ansible_collections/swarmlab/swarm, a link to ROOT: the checkout is the collection swarmlab.swarm.
COLLECTIONS = ROOT / ".collections"
LAB_INVENTORY = ROOT / "inventory" / "lab" / "hosts.yml"


def playbook(name: str, lab: bool = False) -> Path:
    """playbooks/NAME.yml; for a lab, playbooks/lab/NAME.yml where the lab wraps that step."""
    file = name if name.endswith(".yml") else f"{name}.yml"
    wrapped = PLAYBOOKS / "lab" / file
    return wrapped if lab and wrapped.exists() else PLAYBOOKS / file


def lab_state(lab: str) -> Path:
    """Where a lab keeps its keys and VMs (lab_nodes_state_dir)."""
    return Path.home() / ".local" / "state" / "swarmlab" / lab
