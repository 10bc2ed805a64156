"""The lab's lifecycle: nodes as containers or qemu VMs on this host (the docker-machine of swarmlab)."""

from __future__ import annotations

import contextlib
import json
import os
import re
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path

import docker
from docker.errors import DockerException

from swarmlab import paths

LAB_LABEL = "org.swarmlab.lab"
DEFAULT_LAB = paths.DEFAULT_LAB


class LabError(RuntimeError):
    """Something the user can fix about the lab; the message says what."""


# The lab a command works on: --lab (cli.py sets it for the command), else $SWARMLAB_LAB, else DEFAULT_LAB.
_CURRENT: ContextVar[str] = ContextVar("swarmlab_lab", default="")
# A lab's name prefixes its containers, volumes, network and VM bridge: what Docker and Linux accept there.
_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,19}$")


def current() -> str:
    return _CURRENT.get() or os.environ.get("SWARMLAB_LAB") or DEFAULT_LAB


@contextlib.contextmanager
def using(name: str) -> Iterator[None]:
    if not _NAME.match(name):
        raise LabError(f"{name!r} is not a lab name: lowercase letters, digits and '-', up to 20, beginning with a letter or digit")
    token = _CURRENT.set(name)
    try:
        yield
    finally:
        _CURRENT.reset(token)


@dataclass(frozen=True)
class Node:
    lab: str
    name: str
    driver: str
    role: str
    ip: str
    state: str
    urls: tuple[str, ...]


def engine() -> docker.DockerClient:
    try:
        client = docker.from_env()
        client.ping()
    except DockerException as exc:
        raise LabError(
            "no Docker engine answers on this host; `swarmlab setup` starts one (and installs what the lab needs)"
        ) from exc
    return client


def labs() -> list[str]:
    """Every lab on this host: its containers' label, or the VMs its state directory records."""
    names = {c.labels.get(LAB_LABEL, "") for c in engine().containers.list(all=True, filters={"label": LAB_LABEL})}
    names |= {p.parents[2].name for p in paths.lab_state(DEFAULT_LAB).parent.glob("*/vms/*/vm.json")}
    return sorted(n for n in names if n)


def nodes(lab: str | None = None) -> list[Node]:
    lab = lab or current()
    out = vms(lab)
    for c in engine().containers.list(all=True, filters={"label": f"{LAB_LABEL}={lab}"}):
        if c.labels.get("org.swarmlab.role") in ("apt-cache", "registry"):
            continue  # the lab's package cache, not a node
        nets = c.attrs["NetworkSettings"]["Networks"]
        ip = next((n["IPAddress"] for n in nets.values() if n.get("IPAddress")), "")
        urls = tuple(
            f"http://{b['HostIp']}:{b['HostPort']}"
            for bindings in (c.attrs["NetworkSettings"].get("Ports") or {}).values()
            for b in (bindings or [])
        )
        out.append(
            Node(
                lab=lab,
                name=c.attrs["Config"]["Hostname"],
                driver="container",
                role=c.labels.get("org.swarmlab.role", "?"),
                ip=ip,
                state=c.status,
                urls=urls,
            )
        )
    return sorted(out, key=lambda n: (n.role != "manager", n.name))


def vm_pid(vm_dir: Path) -> int | None:
    """The PID lab_vm recorded, if that process is still the VM's qemu."""
    try:
        pid = int((vm_dir / "pid").read_text())
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (OSError, ValueError):
        return None
    return pid if cmdline.startswith(b"qemu-system") or b"/qemu-system" in cmdline.split(b"\0")[0] else None


def vms(lab: str | None = None) -> list[Node]:
    """The lab's VMs, from what the vm driver recorded beside each (vm.json) and their PIDs."""
    lab = lab or current()
    out = []
    for record in sorted((paths.lab_state(lab) / "vms").glob("*/vm.json")):
        try:
            vm = json.loads(record.read_text())
        except (OSError, ValueError):
            continue
        info = vm.get("info", {})
        ports = vm.get("spec", {}).get("ports", [])
        out.append(
            Node(
                lab=lab,
                name=record.parent.name,
                driver="vm",
                role=info.get("role", "?"),
                ip=info.get("ip", ""),
                state="running" if vm_pid(record.parent) else "stopped",
                urls=tuple(f"http://127.0.0.1:{p.split(':')[0]}" for p in ports),
            )
        )
    return out


def ssh_user(node: Node) -> str:
    """The login user the lab made on a node (lab_nodes_ssh_user): a VM's record, a container node's environment."""
    if node.driver == "vm":
        return json.loads((paths.lab_state(node.lab) / "vms" / node.name / "vm.json").read_text()).get("info", {}).get("user", "swarmlab")
    env = engine().containers.get(f"{node.lab}-{node.name}").attrs["Config"].get("Env") or []
    return next((e.partition("=")[2] for e in env if e.startswith("SWARMLAB_SSH_USER=")), "swarmlab")


def ssh_argv(node: Node) -> list[str]:
    """ssh to a VM as the lab's inventory does: the lab's key, host keys checked against its known_hosts."""
    state = paths.lab_state(node.lab)
    user = ssh_user(node)
    return ["ssh", "-i", str(state / "id_ed25519"), "-o", f"UserKnownHostsFile={state / 'known_hosts'}",
            "-o", "StrictHostKeyChecking=yes", f"{user}@{node.ip}"]


def inventory() -> Path:
    path = paths.lab_inventory(current())
    if not path.exists():
        if current() != DEFAULT_LAB:
            raise LabError(f"no lab {current()!r} exists yet; create it with `swarmlab lab up --lab {current()}`")
        raise LabError("no lab exists yet; create one with `swarmlab lab up`")
    return path
