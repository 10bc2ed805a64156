"""The wheel carries the collection swarmlab.swarm with the lab's roles and playbooks, the exercises, the lab's
ansible.cfg and the host scripts (`swarmlab setup`): src/swarmlab/paths.py finds them there when no checkout is
around it (pipx install, then `swarmlab up`). A checkout's editable install (scripts/bootstrap.sh) uses the
checkout itself and gets no copy."""

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

CONTENT = ("galaxy.yml", "meta", "plugins", "roles", "playbooks", "exercises", "inventory/example", "ansible.cfg",
           "scripts/host.sh", "scripts/engine.sh")
TARGET = "swarmlab/collection/ansible_collections/swarmlab/swarm"


class CustomBuildHook(BuildHookInterface):
    def initialize(self, version, build_data):
        if version == "standard":
            build_data["force_include"].update({path: f"{TARGET}/{path}" for path in CONTENT})
