"""Whether a drain (by swarmlab drain, or by the inventory) would leave services' tasks no node: Swarm's own
placement rules (its scheduler's filters in swarmkit's manager/scheduler/filter.go and
manager/constraint/constraint.go) applied to the swarm's node list."""

from __future__ import annotations

import ipaddress
import json
from typing import Any

from ansible_collections.swarmlab.swarm.plugins.module_utils.swarm_model import (
    cpu_reservation,
    cpu_shortfall,
    fits,
    node_matches,
    node_name,
    per_node,
    placement,
    platform_matches,
    takes_tasks,
    to_place,
)


def _cpu_refusals(services: list[dict[str, Any]], before: list[dict[str, Any]], after: list[dict[str, Any]]) -> list[str]:
    """Tasks that would lose the CPUs they reserve: placed now, with no node left that has the CPUs free."""
    was, will = cpu_shortfall(services, before), cpu_shortfall(services, after)
    by_name = {s["Spec"]["Name"]: s for s in services}
    return [f"{will[name] - was.get(name, 0)} of {name}'s tasks no node with the {cpu_reservation(by_name[name]) / 1e9:g} CPUs "
            "they reserve free (--reserve-cpu; the nodes left would have their CPUs reserved already)"
            for name in sorted(will) if will[name] > was.get(name, 0)]


def drain_refusal(nodes: list[dict[str, Any]], services: list[dict[str, Any]], target_id: str) -> str:
    """'' if draining the node target_id leaves every service's tasks a node, else what it would leave and why."""
    target = next((n for n in nodes if n.get("ID") == target_id), {})
    if target.get("Spec", {}).get("Availability") == "drain" or target.get("Status", {}).get("State") == "down":
        return ""  # nothing changes: a node that is down runs nothing Swarm counts, its tasks are placed elsewhere or wait
    rest = sorted((n for n in nodes if n.get("ID") != target_id), key=node_name)
    room = [n for n in rest if takes_tasks(n)]
    placed = to_place(services)
    if not placed:
        return ""
    if not room:
        others = ", ".join(
            f"{node_name(n)} is {n.get('Spec', {}).get('Availability', '')} and {n.get('Status', {}).get('State', '')}" for n in rest
        ) or "it is the only node"
        names = ", ".join(sorted(s["Spec"]["Name"] for s, _replicas in placed))
        return f"no node that takes tasks ({others}), and {names} could run nowhere"
    found = []
    for service, replicas in placed:
        spec = service["Spec"]
        constraints, platforms = placement(service)
        if not (node_matches(constraints, target) and platform_matches(platforms, target)):
            continue  # it has no task there and could have none
        allowed = fits(service, rest)  # only the nodes that take tasks: those of room
        limit = per_node(service)
        if not allowed:
            rules = "; ".join(constraints) or "its platforms " + ", ".join(f"{p.get('OS', '')}/{p.get('Architecture', '')}" for p in platforms)
            found.append(f"{spec['Name']} no node its placement allows ({rules}; the other nodes that take tasks: "
                         f"{', '.join(node_name(n) for n in room)})")
        elif limit and replicas > limit * len(allowed):
            found.append(f"{replicas - limit * len(allowed)} of {spec['Name']}'s {replicas} tasks no node (at most {limit} per node, "
                         f"{len(allowed)} other node{'s' if len(allowed) > 1 else ''} would take them)")
    return "; ".join(found if found else _cpu_refusals(services, nodes, rest))


def pool_problems(pools: list[Any], subnet_size: Any, hosts: list[dict[str, Any]]) -> list[str]:
    """What makes address pools unusable for the swarm's overlay networks: a value that is no network, a subnet size
    that does not fit in a pool, or a pool that overlaps a network a node is on (its traffic would be routed into
    the overlay). hosts: hostvars with gathered facts (ansible_facts.interfaces and each interface's ipv4)."""
    problems = []
    try:
        size = int(subnet_size)
    except (TypeError, ValueError):
        return [f"swarm_subnet_size must be a prefix length such as 24 (got {subnet_size!r})"]
    for pool in pools:
        try:
            net = ipaddress.ip_network(str(pool), strict=True)
        except ValueError:
            problems.append(f"swarm_default_addr_pool: {pool!r} is not a network in CIDR form (e.g. 10.20.0.0/16)")
            continue
        if not net.prefixlen <= size <= 29:
            problems.append(f"swarm_default_addr_pool: {pool} cannot hold /{size} subnets (swarm_subnet_size from {net.prefixlen} to 29)")
        for host in hosts:
            for own in _networks(host.get("ansible_facts") or {}):
                if net.overlaps(own):
                    problems.append(f"swarm_default_addr_pool: {pool} overlaps {own} on {host.get('inventory_hostname', '?')}")
    return problems


def _networks(facts: dict[str, Any]) -> list[ipaddress.IPv4Network]:
    """The IPv4 networks of a host's interfaces but loopback, from gathered facts."""
    out = []
    for name in facts.get("interfaces") or []:
        ipv4 = (facts.get(name.replace("-", "_")) or {}).get("ipv4") or {}
        if ipv4.get("network") and ipv4.get("netmask"):
            net = ipaddress.ip_network(f"{ipv4['network']}/{ipv4['netmask']}", strict=False)
            if not net.is_loopback:
                out.append(net)
    return out


def _engine_labels(labels: Any) -> dict[str, str]:
    if isinstance(labels, dict):
        return {str(k): str(v) for k, v in labels.items()}
    return dict(str(item).partition("=")[::2] for item in labels or [])  # the engine's info lists them as "key=value"


def inventory_refusal(nodes: list[dict[str, Any]], services: list[dict[str, Any]], hosts: list[Any], managers: list[str],
                      absent: list[str]) -> str:
    """'' if the swarm's nodes as the inventory wants them (each answering host's role, labels (merged, or replaced
    where swarm_node_labels_state says so) and availability;
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
        wanted = host.get("swarm_node_labels") or {}
        replace = host.get("swarm_node_labels_state", "merge") == "replace"
        spec["Labels"] = dict(wanted) if replace else {**(spec.get("Labels") or {}), **wanted}
        spec["Availability"] = host.get("swarm_node_availability") or spec.get("Availability", "active")
        after[node_id] = {**known, "Spec": spec}
    left = sorted(after.values(), key=node_name)
    found = []
    for service, replicas in to_place(services):
        spec = service["Spec"]
        before, now = fits(service, nodes), fits(service, left)
        limit = per_node(service)
        if before and not now:
            constraints = placement(service)[0]
            takers = ", ".join(node_name(n) for n in left if takes_tasks(n)) or "none"
            found.append(f"{spec['Name']} no node to run on ({'; '.join(constraints) or 'no placement constraints'}; "
                         f"the nodes that would take tasks: {takers})")
        elif limit and len(now) < len(before) and replicas > limit * len(now):
            found.append(f"{replicas - limit * len(now)} of {spec['Name']}'s {replicas} tasks no node (at most {limit} per node, "
                         f"{len(now)} node{'s' if len(now) != 1 else ''} would take them)")
    return "; ".join(found if found else _cpu_refusals(services, nodes, left))


RECOVERED = "swarmlab-recovered"  # playbooks/recover.yml's mark on the swarm: the UTC time of the recovery


def _swarm(swarm: Any) -> dict[str, Any]:
    if isinstance(swarm, str):  # `docker info --format '{{json .Swarm}}'`'s output, or nothing
        try:
            swarm = json.loads(swarm)
        except ValueError:
            return {}
    return swarm if isinstance(swarm, dict) else {}


def _recovered(swarm: Any) -> str:
    cluster = _swarm(swarm).get("Cluster") or {}
    return str(((cluster.get("Spec") or {}).get("Labels") or {}).get(RECOVERED, ""))


def stale_manager(swarm: Any, swarms: list[Any]) -> bool:
    """`swarm`: a node's `docker info` .Swarm (or its JSON); `swarms`: those of the run's nodes. True for a manager left over from
    before a recovery: its view lacks the newest recovery mark another sees (it would come back with the old Raft
    membership, and with another such manager could elect a leader of its own)."""
    latest = max((_recovered(s) for s in swarms), default="")
    return bool(_swarm(swarm).get("ControlAvailable")) and _recovered(swarm) < latest


def present(hosts: list[str], hostvars: Any) -> list[str]:
    """`hosts` in their order, without those marked for removal (`swarm_node_state: absent`)."""
    return [h for h in hosts or [] if (hostvars.get(h) or {}).get("swarm_node_state") != "absent"]


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {"swarm_drain_refusal": drain_refusal, "swarm_inventory_refusal": inventory_refusal, "swarm_pool_problems": pool_problems,
                "swarm_stale_manager": stale_manager, "swarm_present": present}
