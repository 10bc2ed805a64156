"""The lab's lifecycle: nodes as containers or qemu VMs on this host (the docker-machine of swarmlab)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import docker
from docker.errors import DockerException

from swarmlab import paths

LAB_LABEL = "org.swarmlab.lab"
DEFAULT_LAB = paths.DEFAULT_LAB


class LabError(RuntimeError):
    """Something the user can fix about the lab; the message says what."""


@dataclass(frozen=True)
class Node:
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


def nodes(lab: str = DEFAULT_LAB) -> list[Node]:
    out = vms(lab)
    for c in engine().containers.list(all=True, filters={"label": f"{LAB_LABEL}={lab}"}):
        if c.labels.get("org.swarmlab.role") == "apt-cache":
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


def vms(lab: str = DEFAULT_LAB) -> list[Node]:
    """The lab's VMs, from what the vm driver recorded beside each (vm.json) and their PIDs."""
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
                name=record.parent.name,
                driver="vm",
                role=info.get("role", "?"),
                ip=info.get("ip", ""),
                state="running" if vm_pid(record.parent) else "stopped",
                urls=tuple(f"http://127.0.0.1:{p.split(':')[0]}" for p in ports),
            )
        )
    return out


def ssh_argv(node: Node, lab: str = DEFAULT_LAB) -> list[str]:
    """ssh to a VM as the lab's inventory does: the lab's key, host keys checked against its known_hosts."""
    state = paths.lab_state(lab)
    user = json.loads((state / "vms" / node.name / "vm.json").read_text()).get("info", {}).get("user", "swarmlab")
    return ["ssh", "-i", str(state / "id_ed25519"), "-o", f"UserKnownHostsFile={state / 'known_hosts'}",
            "-o", "StrictHostKeyChecking=yes", f"{user}@{node.ip}"]


def inventory() -> Path:
    if not paths.LAB_INVENTORY.exists():
        raise LabError("no lab exists yet; create one with `swarmlab lab up`")
    return paths.LAB_INVENTORY
