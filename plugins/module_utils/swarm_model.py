"""The Swarm model every plugin of the collection shares: image references, node addresses, the proxy in front of a
service, and where a service's tasks may run and how many it wants, by Swarm's own placement rules (its scheduler's
filters in swarmkit's manager/scheduler/filter.go and manager/constraint/constraint.go). Reads Docker API objects
(nodes, services, tasks) as docker_swarm_info and the Engine API return them."""

from __future__ import annotations

import ipaddress
import re
from typing import Any

PROXY_SUFFIX = "-proxy"
# An image reference as Docker parses it: [registry[:port]/]path[:tag][@digest] (distribution's grammar).
_DOMAIN = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])(?:\.(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]))*(?::[0-9]+)?"
_PATH = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
IMAGE = re.compile(
    rf"^(?:{_DOMAIN}/)?{_PATH}(?:/{_PATH})*(?::[A-Za-z0-9_][A-Za-z0-9_.-]{{0,127}})?"
    r"(?:@[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9A-Fa-f]{32,})?$"
)
# Docker's names for networks, secrets and configs, with room for the "_vN" of a versioned secret or config.
OBJECT = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9_.-]{0,54}[A-Za-z0-9])?$")


def image_name(ref: str | None) -> str:
    """An image reference without its digest (Swarm pins one: nginx:1.12.1@sha256:...)."""
    return (ref or "").split("@", 1)[0]


def proxy_name(service: str) -> str:
    """The proxy swarmlab puts in front of a service where the routing mesh cannot serve (NAME-proxy)."""
    return service + PROXY_SUFFIX


def proxied(name: str, names: Any) -> str | None:
    """The service the service `name` is the proxy of, when it is one of `names`; else None."""
    base = name.removesuffix(PROXY_SUFFIX)
    return base if name.endswith(PROXY_SUFFIX) and base in names else None


def node_addr(node: dict[str, Any]) -> str:
    """A node's address: Status.Addr, or a manager's raft address where the engine reports 0.0.0.0 or nothing."""
    addr = (node.get("Status") or {}).get("Addr", "")
    manager = node.get("ManagerStatus") or {}
    if addr in ("", "0.0.0.0") and manager.get("Addr"):
        addr = manager["Addr"].rsplit(":", 1)[0]
    return addr


def node_name(node: dict[str, Any]) -> str:
    return (node.get("Description") or {}).get("Hostname") or node.get("ID", "")


_KEY = re.compile(r"^[a-z_][a-z0-9\-_.]+$", re.IGNORECASE)
_ARCH = {"x86_64": "amd64", "aarch64": "arm64"}


def _parse(constraint: str) -> tuple[str, bool, str] | None:
    """(key, equal, value) of 'key==value' or 'key!=value'; None for what Swarm would not have accepted."""
    for op in ("==", "!="):
        if op in constraint:
            key, value = (part.strip() for part in constraint.split(op, 1))
            return (key, op == "==", value) if _KEY.match(key) else None
    return None


def _ip_matches(node: dict[str, Any], equal: bool, value: str) -> bool:
    try:
        addr = ipaddress.ip_address(node_addr(node))
    except ValueError:
        addr = None
    try:
        within = addr is not None and addr in ipaddress.ip_network(value, strict=False)
    except ValueError:
        return False  # Swarm rejects a malformed address or network as no match
    return within == equal


def node_matches(constraints: list[str], node: dict[str, Any]) -> bool:
    desc = node.get("Description") or {}
    platform = desc.get("Platform") or {}
    for constraint in constraints:
        parsed = _parse(constraint)
        if parsed is None:
            return False
        key, equal, value = parsed
        lower = key.lower()
        if lower == "node.ip":
            if not _ip_matches(node, equal, value):
                return False
            continue
        if lower == "node.id":
            actual = node.get("ID", "")
        elif lower == "node.hostname":
            actual = desc.get("Hostname", "")
        elif lower == "node.role":
            actual = node.get("Spec", {}).get("Role", "")
        elif lower == "node.platform.os":
            actual = platform.get("OS", "")
        elif lower == "node.platform.arch":
            actual = platform.get("Architecture", "")
        elif lower.startswith("node.labels.") and len(key) > len("node.labels."):
            actual = (node.get("Spec", {}).get("Labels") or {}).get(key[len("node.labels."):], "")  # label names are case-sensitive
        elif lower.startswith("engine.labels.") and len(key) > len("engine.labels."):
            actual = ((desc.get("Engine") or {}).get("Labels") or {}).get(key[len("engine.labels."):], "")
        else:
            return False
        if (actual.lower() == value.lower()) != equal:  # Swarm compares values case-insensitively
            return False
    return True


def platform_matches(platforms: list[dict[str, Any]], node: dict[str, Any]) -> bool:
    if not platforms:
        return True
    have = (node.get("Description") or {}).get("Platform") or {}
    arch = _ARCH.get(have.get("Architecture", ""), have.get("Architecture", ""))
    return any(
        (not p.get("Architecture") or _ARCH.get(p["Architecture"], p["Architecture"]) == arch)
        and (not p.get("OS") or p["OS"] == have.get("OS", ""))
        for p in platforms
    )


def placement(service: dict[str, Any]) -> tuple[list[str], list[dict[str, Any]]]:
    placement = service["Spec"].get("TaskTemplate", {}).get("Placement") or {}
    return placement.get("Constraints") or [], placement.get("Platforms") or []


def per_node(service: dict[str, Any]) -> int:
    """How many of a replicated service's tasks one node can take; 0 for no limit (and for a global service)."""
    spec = service.get("Spec", {})
    if "Global" in spec.get("Mode", {}):
        return 0
    limit = int((spec.get("TaskTemplate", {}).get("Placement") or {}).get("MaxReplicas") or 0)
    ports = (spec.get("EndpointSpec") or {}).get("Ports") or []
    if any(p.get("PublishMode") == "host" and p.get("PublishedPort") for p in ports):
        limit = min(limit, 1) if limit else 1  # a port published on the node's own address: one task per node
    return limit


def to_place(services: list[dict[str, Any]]) -> list[tuple[dict[str, Any], int]]:
    """The services with tasks to place (global, or replicas), by name, with their replicas."""
    placed = []
    for service in services:
        mode = service.get("Spec", {}).get("Mode", {})
        replicas = int((mode.get("Replicated") or {}).get("Replicas") or 0)
        if "Global" in mode or replicas > 0:
            placed.append((service, replicas))
    return sorted(placed, key=lambda p: p[0]["Spec"]["Name"])


def takes_tasks(node: dict[str, Any]) -> bool:
    return node.get("Spec", {}).get("Availability") == "active" and node.get("Status", {}).get("State") == "ready"


def fits(service: dict[str, Any], nodes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    constraints, platforms = placement(service)
    return [n for n in nodes if takes_tasks(n) and node_matches(constraints, n) and platform_matches(platforms, n)]


def tasks_wanted(service: dict[str, Any], nodes: list[dict[str, Any]]) -> int:
    """How many tasks a service wants: its replicas, or for a global service one on every node that takes tasks
    and that its placement allows."""
    mode = service.get("Spec", {}).get("Mode", {})
    if "Global" in mode:
        return len(fits(service, nodes))
    return int((mode.get("Replicated") or {}).get("Replicas") or 0)


def cpus(node: dict[str, Any]) -> int:
    """The node's CPUs in nano-CPUs, as it reports them (a container node reports its host's)."""
    return int(((node.get("Description") or {}).get("Resources") or {}).get("NanoCPUs") or 0)


def cpu_reservation(service: dict[str, Any]) -> int:
    """Nano-CPUs each of the service's tasks reserves (--reserve-cpu); 0 for none."""
    resources = service.get("Spec", {}).get("TaskTemplate", {}).get("Resources") or {}
    return int((resources.get("Reservations") or {}).get("NanoCPUs") or 0)


def cpu_shortfall(services: list[dict[str, Any]], nodes: list[dict[str, Any]]) -> dict[str, int]:
    """Tasks of each service that would find no node with CPUs left for their reservation: Swarm's scheduler places a
    task only where the reservations of the node's tasks stay within its CPUs. The tasks are placed largest
    reservation first, each on the allowed node with the most CPUs left (the scheduler spreads them too)."""
    free = {n.get("ID"): cpus(n) for n in nodes if takes_tasks(n)}
    short: dict[str, int] = {}
    for service, replicas in sorted(to_place(services), key=lambda p: -cpu_reservation(p[0])):
        want = cpu_reservation(service)
        if not want:
            continue
        allowed = [n.get("ID") for n in fits(service, nodes)]
        limit = per_node(service)
        is_global = "Global" in service["Spec"].get("Mode", {})
        placed: dict[str, int] = {}
        missing = 0
        for i in range(len(allowed) if is_global else replicas):
            room = [a for a in ([allowed[i]] if is_global else allowed)
                    if free[a] >= want and (not limit or placed.get(a, 0) < limit)]
            if not room:
                missing += 1
                continue
            best = max(room, key=lambda a: free[a])
            free[best] -= want
            placed[best] = placed.get(best, 0) + 1
        if missing:
            short[service["Spec"]["Name"]] = missing
    return short
