"""Whether a drain (by swarmlab drain, or by the inventory) would leave services' tasks no node: Swarm's own
placement rules (its scheduler's filters in swarmkit's manager/scheduler/filter.go and
manager/constraint/constraint.go) applied to the swarm's node list."""

from __future__ import annotations

import ipaddress
import re
from typing import Any

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
        addr = ipaddress.ip_address(node.get("Status", {}).get("Addr", ""))
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


def _platform_matches(platforms: list[dict[str, Any]], node: dict[str, Any]) -> bool:
    if not platforms:
        return True
    have = (node.get("Description") or {}).get("Platform") or {}
    arch = _ARCH.get(have.get("Architecture", ""), have.get("Architecture", ""))
    return any(
        (not p.get("Architecture") or _ARCH.get(p["Architecture"], p["Architecture"]) == arch)
        and (not p.get("OS") or p["OS"] == have.get("OS", ""))
        for p in platforms
    )


def _placement(service: dict[str, Any]) -> tuple[list[str], list[dict[str, Any]]]:
    placement = service["Spec"].get("TaskTemplate", {}).get("Placement") or {}
    return placement.get("Constraints") or [], placement.get("Platforms") or []


def _per_node(service: dict[str, Any]) -> int:
    """How many of a replicated service's tasks one node can take; 0 for no limit (and for a global service)."""
    spec = service.get("Spec", {})
    if "Global" in spec.get("Mode", {}):
        return 0
    limit = int((spec.get("TaskTemplate", {}).get("Placement") or {}).get("MaxReplicas") or 0)
    ports = (spec.get("EndpointSpec") or {}).get("Ports") or []
    if any(p.get("PublishMode") == "host" and p.get("PublishedPort") for p in ports):
        limit = min(limit, 1) if limit else 1  # a port published on the node's own address: one task per node
    return limit


def _placed(services: list[dict[str, Any]]) -> list[tuple[dict[str, Any], int]]:
    """The services with tasks to place (global, or replicas), by name, with their replicas."""
    placed = []
    for service in services:
        mode = service.get("Spec", {}).get("Mode", {})
        replicas = int((mode.get("Replicated") or {}).get("Replicas") or 0)
        if "Global" in mode or replicas > 0:
            placed.append((service, replicas))
    return sorted(placed, key=lambda p: p[0]["Spec"]["Name"])


def _takes_tasks(node: dict[str, Any]) -> bool:
    return node.get("Spec", {}).get("Availability") == "active" and node.get("Status", {}).get("State") == "ready"


def _fits(service: dict[str, Any], nodes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    constraints, platforms = _placement(service)
    return [n for n in nodes if _takes_tasks(n) and node_matches(constraints, n) and _platform_matches(platforms, n)]


def _name(node: dict[str, Any]) -> str:
    return (node.get("Description") or {}).get("Hostname") or node.get("ID", "")


def drain_refusal(nodes: list[dict[str, Any]], services: list[dict[str, Any]], target_id: str) -> str:
    """'' if draining the node target_id leaves every service's tasks a node, else what it would leave and why."""
    target = next((n for n in nodes if n.get("ID") == target_id), {})
    if target.get("Spec", {}).get("Availability") == "drain" or target.get("Status", {}).get("State") == "down":
        return ""  # nothing changes: a node that is down runs nothing Swarm counts, its tasks are placed elsewhere or wait
    rest = sorted((n for n in nodes if n.get("ID") != target_id), key=_name)
    room = [n for n in rest if _takes_tasks(n)]
    placed = _placed(services)
    if not placed:
        return ""
    if not room:
        others = ", ".join(
            f"{_name(n)} is {n.get('Spec', {}).get('Availability', '')} and {n.get('Status', {}).get('State', '')}" for n in rest
        ) or "it is the only node"
        names = ", ".join(sorted(s["Spec"]["Name"] for s, _ in placed))
        return f"no node that takes tasks ({others}), and {names} could run nowhere"
    found = []
    for service, replicas in placed:
        spec = service["Spec"]
        constraints, platforms = _placement(service)
        if not (node_matches(constraints, target) and _platform_matches(platforms, target)):
            continue  # it has no task there and could have none
        fits = _fits(service, rest)  # _fits keeps only the nodes that take tasks: those of room
        limit = _per_node(service)
        if not fits:
            rules = "; ".join(constraints) or "its platforms " + ", ".join(f"{p.get('OS', '')}/{p.get('Architecture', '')}" for p in platforms)
            found.append(f"{spec['Name']} no node its placement allows ({rules}; the other nodes that take tasks: "
                         f"{', '.join(_name(n) for n in room)})")
        elif limit and replicas > limit * len(fits):
            found.append(f"{replicas - limit * len(fits)} of {spec['Name']}'s {replicas} tasks no node (at most {limit} per node, "
                         f"{len(fits)} other node{'s' if len(fits) > 1 else ''} would take them)")
    return "; ".join(found)


def _engine_labels(labels: Any) -> dict[str, str]:
    if isinstance(labels, dict):
        return {str(k): str(v) for k, v in labels.items()}
    return dict(str(item).partition("=")[::2] for item in labels or [])  # the engine's info lists them as "key=value"


def inventory_refusal(nodes: list[dict[str, Any]], services: list[dict[str, Any]], hosts: list[Any], managers: list[str],
                      absent: list[str]) -> str:
    """'' if the swarm's nodes as the inventory wants them (each answering host's role, merged labels and availability;
    hosts marked absent gone; hosts that join in this run added, active unless the inventory says otherwise) leave
    every service that has a node now a node for each of its tasks, else which would lack one, and why."""
    after = {n.get("ID"): n for n in nodes}
    for host in hosts:
        info = (host.get("swarm_host") or {}).get("host_info")
        if not info:
            continue  # a host that does not answer is left as the swarm lists it
        name = host["inventory_hostname"]
        node_id = (info.get("Swarm") or {}).get("NodeID") or f"joins:{name}"
        if name in absent:
            after.pop(node_id, None)
            continue
        known = after.get(node_id) or {
            "ID": node_id, "Spec": {"Availability": "active", "Labels": {}}, "Status": {"State": "ready"},
            "Description": {"Hostname": info.get("Name", name), "Platform": {"OS": info.get("OSType", ""), "Architecture":
                            info.get("Architecture", "")}, "Engine": {"Labels": _engine_labels(info.get("Labels"))}},
        }
        spec = dict(known.get("Spec") or {})
        spec["Role"] = "manager" if name in managers else "worker"
        spec["Labels"] = {**(spec.get("Labels") or {}), **(host.get("swarm_node_labels") or {})}
        spec["Availability"] = host.get("swarm_node_availability") or spec.get("Availability", "active")
        after[node_id] = {**known, "Spec": spec}
    left = sorted(after.values(), key=_name)
    found = []
    for service, replicas in _placed(services):
        spec = service["Spec"]
        before, now = _fits(service, nodes), _fits(service, left)
        limit = _per_node(service)
        if before and not now:
            constraints = _placement(service)[0]
            takers = ", ".join(_name(n) for n in left if _takes_tasks(n)) or "none"
            found.append(f"{spec['Name']} no node to run on ({'; '.join(constraints) or 'no placement constraints'}; "
                         f"the nodes that would take tasks: {takers})")
        elif limit and len(now) < len(before) and replicas > limit * len(now):
            found.append(f"{replicas - limit * len(now)} of {spec['Name']}'s {replicas} tasks no node (at most {limit} per node, "
                         f"{len(now)} node{'s' if len(now) != 1 else ''} would take them)")
    return "; ".join(found)


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {"swarm_drain_refusal": drain_refusal, "swarm_inventory_refusal": inventory_refusal}
