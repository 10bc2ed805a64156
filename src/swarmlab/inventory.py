"""The inventory as Ansible reads it, in one place: parsed once per file (and change) by Ansible's own parser in this
process, with each host's variables as `ansible-inventory --list` gives them (group_vars and host_vars included).
Every command reads its inventory here: the swarm's groups, managers and workers, each host's variables, how many
hosts a run reaches, and whether it is a lab's."""

from __future__ import annotations

import contextlib
import functools
import io
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from swarmlab.lab import LabError


@dataclass(frozen=True)
class Inventory:
    path: Path
    groups: Mapping[str, tuple[str, ...]]  # each group's hosts, its children's included, in inventory order
    hostvars: Mapping[str, Mapping[str, Any]]

    def _var(self, name: str, default: str) -> str:
        return next((str(v[name]) for v in self.hostvars.values() if v.get(name)), default)

    @property
    def managers_group(self) -> str:
        """The swarm's groups as the roles read them (swarm_managers_group, swarm_workers_group)."""
        return self._var("swarm_managers_group", "managers")

    @property
    def workers_group(self) -> str:
        return self._var("swarm_workers_group", "workers")

    @property
    def managers(self) -> list[str]:
        return list(self.groups.get(self.managers_group, ()))

    @property
    def workers(self) -> list[str]:
        return list(self.groups.get(self.workers_group, ()))

    @property
    def nodes(self) -> list[str]:
        """Every node of the swarm, managers first, in inventory order."""
        return list(dict.fromkeys(self.managers + self.workers))

    @property
    def lab(self) -> bool:
        """A lab's inventory: lab_nodes writes swarmlab_lab into it."""
        return any("swarmlab_lab" in v for v in self.hostvars.values())

    def with_vars(self, hosts: list[str]) -> dict[str, dict[str, Any]]:
        return {h: dict(self.hostvars.get(h, {})) for h in hosts}


@functools.cache
def _plugins() -> None:
    """Ansible's plugin loader, once per process: the vars plugins (group_vars, host_vars) need it."""
    from ansible.plugins.loader import init_plugin_loader

    init_plugin_loader()


@functools.cache
def _read(path: str, mtime: float) -> Inventory:
    from ansible.inventory.manager import InventoryManager
    from ansible.parsing.dataloader import DataLoader
    from ansible.vars.manager import VariableManager

    said = io.StringIO()
    # Ansible's warnings go to this process's stderr: kept for the message, not shown.
    with contextlib.redirect_stderr(said), contextlib.redirect_stdout(said):
        _plugins()
        loader = DataLoader()
        # The source named (group_vars are found beside it), parsed here to know whether any plugin could.
        inv = InventoryManager(loader=loader, sources=[path], parse=False)
        parsed = inv.parse_source(path)
        if parsed:
            vm = VariableManager(loader=loader, inventory=inv)
            hostvars = {h.name: vm.get_vars(host=h, include_hostvars=False, stage="all") for h in inv.get_hosts()}
    if not parsed:
        why = re.findall(r"^\[WARNING\]: (Failed to parse .*?)$", said.getvalue(), re.M)
        raise LabError(f"cannot read inventory {path}: Completely failed to parse inventory source {path}"
                       + (f" ({'; '.join(why)[:300]})" if why else ""))
    groups = {name: tuple(h.name for h in group.get_hosts()) for name, group in inv.groups.items()}
    return Inventory(path=Path(path), groups=groups, hostvars=hostvars)


def read(path: str | Path) -> Inventory:
    """The inventory at path (relative to this process's directory); LabError when it is missing or unreadable."""
    full = Path(path).absolute()
    if not full.exists():
        raise LabError(f"inventory {path} does not exist")
    return _read(str(full), full.stat().st_mtime)
