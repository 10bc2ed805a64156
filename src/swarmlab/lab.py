"""The lab's lifecycle: nodes as containers on this host (the docker-machine of swarmlab)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import docker
from docker.errors import DockerException

from swarmlab import paths

LAB_LABEL = "org.swarmlab.lab"
DEFAULT_LAB = "swarmlab"


class LabError(RuntimeError):
    """Something the user can fix about the lab; the message says what."""


@dataclass(frozen=True)
class Node:
    name: str
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
            "no Docker engine answers on this host; start one (scripts/engine.sh) and try again"
        ) from exc
    return client


def nodes(lab: str = DEFAULT_LAB) -> list[Node]:
    out = []
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
                role=c.labels.get("org.swarmlab.role", "?"),
                ip=ip,
                state=c.status,
                urls=urls,
            )
        )
    return sorted(out, key=lambda n: (n.role != "manager", n.name))


def inventory() -> Path:
    if not paths.LAB_INVENTORY.exists():
        raise LabError("no lab exists yet; create one with `swarmlab lab up`")
    return paths.LAB_INVENTORY
