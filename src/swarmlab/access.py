"""How swarmlab reaches a node outside Ansible, as Ansible reaches it: `docker exec` into a lab's container node, SSH
with the inventory's user, key, port and options otherwise, through `sudo -n` where the inventory says become. Used by
the UI's reader, the warm path's read of every node and the benchmark."""

from __future__ import annotations

import os
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ansible.module_utils.parsing.convert_bool import boolean

from swarmlab import api
from swarmlab.lab import LabError

DIAL = "docker system dial-stdio"
SSH_CONNECTIONS = ("ssh", "ansible.builtin.ssh", "smart", "paramiko", "ansible.builtin.paramiko_ssh")
DOCKER_CONNECTIONS = ("community.docker.docker", "docker", "community.docker.docker_api")


@dataclass(frozen=True)
class Access:
    """How to run `docker system dial-stdio` on one manager."""

    host: str
    argv: tuple[str, ...]


def _var(hostvars: dict[str, Any], host: str, *names: str) -> Any:
    for name in names:
        value = hostvars.get(name)
        if isinstance(value, str) and "{{" in value:
            raise LabError(f"{host}: {name} is a template ({value}); swarmlab reads connection settings as written: give its value")
        if value not in (None, ""):
            return value
    return None


def access_of(host: str, hostvars: dict[str, Any], command: str = DIAL) -> Access:
    """How to run `command` (a shell command line) on the host as Ansible reaches it."""
    connection = _var(hostvars, host, "ansible_connection") or "ssh"
    address = str(_var(hostvars, host, "ansible_host") or host)
    if connection in DOCKER_CONNECTIONS:
        return Access(host, ("docker", "exec", "-i", address, *shlex.split(command)))
    if connection in ("local", "ansible.builtin.local"):
        return Access(host, tuple(shlex.split(command)))
    if connection not in SSH_CONNECTIONS:
        raise LabError(f"{host}: swarmlab reaches nodes over SSH or docker exec, not ansible_connection={connection}")
    argv = ["ssh", "-o", "BatchMode=yes", "-o", "ConnectTimeout=5", "-o", "ServerAliveInterval=5", "-o", "ServerAliveCountMax=2"]
    if port := _var(hostvars, host, "ansible_port", "ansible_ssh_port"):
        argv += ["-p", str(port)]
    if user := _var(hostvars, host, "ansible_user", "ansible_ssh_user"):
        argv += ["-l", str(user)]
    if key := _var(hostvars, host, "ansible_ssh_private_key_file", "ansible_private_key_file"):
        argv += ["-i", os.path.expanduser(str(key))]
    checking = _var(hostvars, host, "ansible_host_key_checking", "ansible_ssh_host_key_checking")
    if checking is not None and not boolean(checking, strict=False):
        argv += ["-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null"]
    for name in ("ansible_ssh_common_args", "ansible_ssh_extra_args"):
        argv += shlex.split(str(_var(hostvars, host, name) or ""))
    become = boolean(_var(hostvars, host, "ansible_become") or False, strict=False)
    # As Ansible would run it: through sudo when the inventory says become (the docker group is not needed then).
    return Access(host, (*argv, "--", address, f"sudo -n {command}" if become else command))


def accesses(inventory_path: Path) -> list[Access]:
    """One access per manager of the inventory, in its order."""
    return [access_of(host, hostvars) for host, hostvars in api.managers_of(inventory_path).items()]
