"""Checks of service specs and requests, done in full before anything changes: one message per problem, naming
the service and the field."""

from __future__ import annotations

import re
from typing import Any

from ansible_collections.swarmlab.swarm.plugins.module_utils.swarm_model import proxied, proxy_name

# An image reference as Docker parses it: [registry[:port]/]path[:tag][@digest] (distribution's grammar).
_DOMAIN = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])(?:\.(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]))*(?::[0-9]+)?"
_PATH = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
IMAGE = re.compile(
    rf"^(?:{_DOMAIN}/)?{_PATH}(?:/{_PATH})*(?::[A-Za-z0-9_][A-Za-z0-9_.-]{{0,127}})?"
    r"(?:@[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9A-Fa-f]{32,})?$"
)
# A DNS label (tasks find each other by name), short enough for the proxy's "-proxy" suffix.
NAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,55}[A-Za-z0-9])?$")
WHOLE = re.compile(r"^[0-9]+$")


def image_problem(image: Any) -> str:
    """'' for an image reference Docker accepts, else what is wrong."""
    if isinstance(image, str) and len(image) <= 255 and IMAGE.match(image):
        return ""
    return f'"{image}" is not an image reference Docker accepts ([registry/]name[:tag][@digest], lower-case name, e.g. nginx:1.13.5)'


def replicas_problem(replicas: Any, cap: Any = None) -> str:
    if isinstance(replicas, bool) or not WHOLE.match(str(replicas)):
        return f'replicas must be a whole number of 0 or more (got "{replicas}")'
    if cap not in (None, "") and int(replicas) > int(cap):
        return (
            f"{replicas} replicas are more than the {cap} swarm_services_max_replicas allows (a cap the inventory sets, "
            "e.g. for its nodes' memory); lower the replicas or add nodes"
        )
    return ""


def _port(port: Any) -> bool:
    return not isinstance(port, bool) and WHOLE.match(str(port)) is not None and 1 <= int(port) <= 65535


def _taken(services: list[dict[str, Any]], ours: set[str]) -> dict[int, str]:
    """Published ports of the swarm's services other than these specs' services and their proxies."""
    taken = {}
    for svc in services or []:
        name = svc.get("Spec", {}).get("Name", "")
        if name in ours or proxied(name, ours):
            continue
        for p in (svc.get("Spec", {}).get("EndpointSpec") or {}).get("Ports") or []:
            if p.get("PublishedPort"):
                taken[int(p["PublishedPort"])] = name
    return taken


def spec_problems(specs: Any, services: list[dict[str, Any]] | None = None, cap: Any = None) -> list[str]:
    """Every problem of a list of service specs; `services` (docker_swarm_info's, verbose) finds ports taken by others."""
    if not isinstance(specs, list):
        return ["swarm_services_specs must be a list of service specs (name, image, replicas, ports)"]
    problems: list[str] = []
    names = [s.get("name") for s in specs if isinstance(s, dict)]
    taken = _taken(services or [], {str(n) for n in names})
    published: dict[int, str] = {}
    for i, spec in enumerate(specs, 1):
        if not isinstance(spec, dict):
            problems.append(f"spec {i}: not a mapping with name and image (got {str(spec)[:60]!r})")
            continue
        name = spec.get("name")
        who = f"Service {name}" if name else f"spec {i}"
        if not isinstance(name, str) or not NAME.match(name):
            problems.append(
                f"{who}: name must be a DNS label: letters, digits and inner '-', 1-57 characters (its proxy adds '-proxy')"
            )
        elif names.count(name) > 1:
            problems.append(f"{who}: name appears {names.count(name)} times in the specs; give each service once")
        state = spec.get("state", "present")
        if state not in ("present", "absent"):
            problems.append(f'{who}: state must be present or absent (got "{state}")')
        if state == "absent":
            continue
        if "image" not in spec:
            problems.append(f"{who}: image is missing")
        elif problem := image_problem(spec["image"]):
            problems.append(f"{who}: image {problem}")
        if problem := replicas_problem(spec.get("replicas", 1), cap):
            problems.append(f"{who}: {problem}")
        ports = spec.get("ports", [])
        if not isinstance(ports, list):
            problems.append(f"{who}: ports must be a list of {{published, target}} mappings")
            continue
        for port in ports:
            if not isinstance(port, dict):
                problems.append(f"{who}: port {port!r} must be a mapping with published and target")
                continue
            for field in ("published", "target"):
                if not _port(port.get(field)):
                    problems.append(f'{who}: ports: {field} must be a port number 1-65535 (got "{port.get(field, "")}")')
            if port.get("protocol", "tcp") not in ("tcp", "udp"):
                problems.append(f'{who}: ports: protocol must be tcp or udp (got "{port["protocol"]}")')
            if port.get("mode", "ingress") not in ("ingress", "host", "proxy"):
                problems.append(f'{who}: ports: mode must be ingress, host or proxy (got "{port["mode"]}")')
            if not _port(port.get("published")):
                continue
            number = int(port["published"])
            if number in published:
                problems.append(f"{who}: published port {number} is also published by {published[number]} in these specs")
            elif number in taken:
                problems.append(f"{who}: published port {number} is already taken by the service {taken[number]} (docker service ls)")
            published.setdefault(number, str(name))
    return problems


def ingress_ports(specs: Any, default_mode: str) -> list[Any]:
    """Ports that services still present publish through the ingress routing mesh."""
    return [
        port.get("published")
        for spec in (specs if isinstance(specs, list) else [])
        if isinstance(spec, dict) and spec.get("state", "present") != "absent"
        for port in (spec.get("ports") or [])
        if isinstance(port, dict) and port.get("mode", default_mode) == "ingress"
    ]


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {
            "swarm_services_spec_problems": spec_problems,
            "swarm_services_image_problem": image_problem,
            "swarm_services_replicas_problem": replicas_problem,
            "swarm_services_ingress_ports": ingress_ports,
            "swarm_services_proxy_name": proxy_name,
        }
