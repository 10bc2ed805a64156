"""Where the project's Ansible content lives, and where a lab keeps its state.

From a checkout, the checkout itself (it is the collection swarmlab.swarm); from an installed wheel (pipx, pip), the
copy of it the wheel carries. Only a checkout keeps the lab's inventory beside its content (inventory/lab/, as the
README's ansible-playbook examples use it); an installed swarmlab keeps it in the lab's state directory.
"""

from pathlib import Path

DEFAULT_LAB = "swarmlab"
_PACKAGE = Path(__file__).resolve().parent
# The wheel's copy (pyproject.toml's force-include); absent in a checkout, whose editable install has none.
_BUNDLED = _PACKAGE / "collection"
CHECKOUT = not (_BUNDLED / "ansible_collections" / "swarmlab" / "swarm" / "galaxy.yml").is_file()

if CHECKOUT:
    ROOT = _PACKAGE.parents[1]
    # Holds ansible_collections/swarmlab/swarm, a link to ROOT: the checkout is the collection swarmlab.swarm.
    COLLECTIONS = ROOT / ".collections"
else:
    ROOT = _BUNDLED / "ansible_collections" / "swarmlab" / "swarm"
    COLLECTIONS = _BUNDLED
PLAYBOOKS = ROOT / "playbooks"
ANSIBLE_CFG = ROOT / "ansible.cfg"


def lab_state(lab: str) -> Path:
    """Where a lab keeps its keys, VMs and records (lab_nodes_state_dir, the same place)."""
    return Path.home() / ".local" / "state" / "swarmlab" / lab


def lab_inventory(lab: str) -> Path:
    """Where a lab's inventory is written: a checkout's default lab in inventory/lab/ (the README's ansible-playbook
    examples name it), every other lab in its state directory."""
    return ROOT / "inventory" / "lab" / "hosts.yml" if CHECKOUT and lab == DEFAULT_LAB else lab_state(lab) / "hosts.yml"


def playbook(name: str, lab: bool = False) -> Path:
    """playbooks/NAME.yml; for a lab, playbooks/lab/NAME.yml where the lab wraps that step."""
    file = name if name.endswith(".yml") else f"{name}.yml"
    wrapped = PLAYBOOKS / "lab" / file
    return wrapped if lab and wrapped.exists() else PLAYBOOKS / file
