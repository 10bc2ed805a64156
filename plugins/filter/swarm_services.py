"""Checks of service specs and requests, done in full before anything changes: one message per problem, naming
the service and the field."""

from __future__ import annotations

import os
import re
from typing import Any

from ansible_collections.swarmlab.swarm.plugins.module_utils.swarm_model import IMAGE, OBJECT, cpu_shortfall, cpus, fits, proxied, proxy_name

# A DNS label (tasks find each other by name), short enough for the proxy's "-proxy" suffix.
NAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,55}[A-Za-z0-9])?$")
WHOLE = re.compile(r"^[0-9]+$")
# The fields a spec may have: community.docker.docker_swarm_service's names, as `docker service create` takes them.
FIELDS = {
    "name", "image", "replicas", "state", "ports", "update_config", "rollback_config", "placement", "env", "healthcheck",
    "mode", "command", "args", "networks", "secrets", "configs", "mounts", "limits", "reservations", "restart_config",
    "labels", "logging",
}  # fmt: skip
# Go durations, as --update-delay and --restart-delay take them (1m30s, 500ms).
DURATION = re.compile(r"^(?:[0-9]+(?:\.[0-9]+)?(?:ns|us|µs|ms|s|m|h))+$")
# Bytes as the module reads them (human_to_bytes): 64M, 1.5G, 512.
BYTES = re.compile(r"^[0-9]+(?:\.[0-9]+)?\s?(?:[KMGTPEZY]B?|B)?$", re.IGNORECASE)
KINDS = {
    "networks": ("name", "attachable", "encrypted", "internal", "labels", "state"),
    "secrets": ("name", "value", "file", "labels", "state"),
    "configs": ("name", "value", "file", "labels", "state"),
}


def _strings(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, (str, int, float)) and not isinstance(v, bool) for v in value)


def _mapping_of_strings(value: Any) -> bool:
    return isinstance(value, dict) and all(isinstance(k, str) and isinstance(v, str) for k, v in value.items())


def _mapping_of_scalars(value: Any) -> bool:
    return isinstance(value, dict) and all(isinstance(k, str) and not isinstance(v, (dict, list)) for k, v in value.items())


def object_problems(kind: str, objects: Any) -> list[str]:
    """Problems of swarm_services_networks, _secrets or _configs: name, source, state, unknown keys."""
    var = f"swarm_services_{kind}"
    if objects in (None, ""):
        return []
    if not isinstance(objects, list):
        return [f"{var} must be a list of mappings with a name"]
    problems = []
    names = [o.get("name") for o in objects if isinstance(o, dict)]
    for i, obj in enumerate(objects, 1):
        if not isinstance(obj, dict):
            problems.append(f"{var} entry {i}: not a mapping with a name (got {str(obj)[:60]!r})")
            continue
        name = obj.get("name")
        who = f"{var} {name}" if name else f"{var} entry {i}"
        if not isinstance(name, str) or not OBJECT.match(name):
            problems.append(f"{who}: name must be letters, digits and inner '_', '.' or '-', 1-56 characters")
        elif names.count(name) > 1:
            problems.append(f"{who}: appears {names.count(name)} times; give each once")
        for key in sorted(set(obj) - set(KINDS[kind])):
            problems.append(f"{who}: unknown key {key} (known: {', '.join(KINDS[kind])})")
        if obj.get("state", "present") not in ("present", "absent"):
            problems.append(f'{who}: state must be present or absent (got "{obj["state"]}")')
        for flag in ("attachable", "encrypted", "internal"):
            if flag in obj and not isinstance(obj[flag], bool):
                problems.append(f'{who}: {flag} must be true or false (got "{obj[flag]}")')
        if "labels" in obj and not _mapping_of_strings(obj["labels"]):
            problems.append(f"{who}: labels must be a mapping of names to strings (quote numbers)")
        if kind != "networks" and obj.get("state", "present") == "present":
            sources = [k for k in ("value", "file") if k in obj]
            if len(sources) != 1:
                problems.append(f"{who}: give exactly one of value (the content) or file (a file on the controller)")
            elif "file" in obj and not (isinstance(obj["file"], str) and os.path.isfile(obj["file"])):
                problems.append(f'{who}: file "{obj["file"]}" is not a readable file on the controller (give an absolute path)')
            elif "value" in obj and not isinstance(obj["value"], str):
                problems.append(f"{who}: value must be a string (quote it)")
    return problems


def _present(objects: Any) -> set[str]:
    return {o["name"] for o in objects or [] if isinstance(o, dict) and o.get("state", "present") == "present" and isinstance(o.get("name"), str)}


def _field_problems(spec: dict[str, Any], declared: dict[str, set[str]]) -> list[str]:
    """Problems of a present spec's fields beyond image, replicas and ports, one line each, without the service."""
    out = []
    for key in sorted(set(spec) - FIELDS, key=str):
        out.append(f"unknown field {key} (known: {', '.join(sorted(FIELDS))})")
    mode = spec.get("mode", "replicated")
    if mode not in ("replicated", "global"):
        out.append(f'mode must be replicated or global (got "{mode}")')
    elif mode == "global" and "replicas" in spec:
        out.append("a global service runs one task on every node its placement allows: drop replicas, or use mode: replicated")
    if "command" in spec and not (isinstance(spec["command"], str) or _strings(spec["command"])):
        out.append("command must be a string or a list of strings (the entrypoint, --entrypoint)")
    if "args" in spec and not _strings(spec["args"]):
        out.append("args must be a list of strings (the arguments after the image)")
    if "labels" in spec and not _mapping_of_strings(spec["labels"]):
        out.append("labels must be a mapping of names to strings (quote numbers)")
    if "env" in spec and not (_mapping_of_scalars(spec["env"]) or _strings(spec["env"])):
        out.append("env must be a mapping of names to values (or a list of NAME=value)")
    for net in spec.get("networks") or []:
        name = net.get("name") if isinstance(net, dict) else net
        if not isinstance(name, str):
            out.append(f"networks: {net!r} must be a network name or a mapping with name and aliases")
        elif name not in declared["networks"]:
            out.append(f"networks: {name} is not in swarm_services_networks (declare it there: the role creates it)")
        elif isinstance(net, dict) and (set(net) - {"name", "aliases"} or not _strings(net.get("aliases", []))):
            out.append(f"networks: {name}: give name and aliases (a list of names) only")
    for kind in ("secrets", "configs"):
        for ref in spec.get(kind) or []:
            source = ref.get("source") if isinstance(ref, dict) else ref
            if not isinstance(source, str):
                out.append(f"{kind}: {ref!r} must be a name or a mapping with source (and target, uid, gid, mode)")
                continue
            if source not in declared[kind]:
                out.append(f"{kind}: {source} is not in swarm_services_{kind} (declare it there with a value or a file)")
            if isinstance(ref, dict):
                if set(ref) - {"source", "target", "uid", "gid", "mode"}:
                    out.append(f"{kind}: {source}: give source, target, uid, gid and mode only")
                if "mode" in ref and _file_mode(ref["mode"]) is None:
                    out.append(f'{kind}: {source}: mode must be a file mode such as "0440" (got "{ref["mode"]}")')
    for mount in spec.get("mounts") or []:
        if not isinstance(mount, dict):
            out.append(f"mounts: {mount!r} must be a mapping with type, source and target")
            continue
        kind = mount.get("type", "volume")
        target = mount.get("target")
        if kind not in ("volume", "bind", "tmpfs"):
            out.append(f'mounts: type must be volume, bind or tmpfs (got "{kind}")')
        if not isinstance(target, str) or not target.startswith("/"):
            out.append(f'mounts: target must be an absolute path in the container (got "{target or ""}")')
        if kind != "tmpfs" and not mount.get("source"):
            out.append(f"mounts: {target}: a {kind} mount needs a source ({'a volume name' if kind == 'volume' else 'a path on the node'})")
        if kind == "bind" and not str(mount.get("source", "/")).startswith("/"):
            out.append(f'mounts: {target}: a bind mount\'s source is an absolute path on the node (got "{mount["source"]}")')
        if "readonly" in mount and not isinstance(mount["readonly"], bool):
            out.append(f"mounts: {target}: readonly must be true or false")
        if set(mount) - {"type", "source", "target", "readonly", "labels", "tmpfs_size", "tmpfs_mode"}:
            out.append(f"mounts: {target}: give type, source, target, readonly, labels, tmpfs_size and tmpfs_mode only")
    for key in ("limits", "reservations"):
        if key not in spec:
            continue
        res = spec[key]
        if not isinstance(res, dict) or set(res) - {"cpus", "memory"}:
            out.append(f"{key} must be a mapping with cpus and memory")
            continue
        if "cpus" in res and (isinstance(res["cpus"], bool) or not isinstance(res["cpus"], (int, float)) or res["cpus"] <= 0):
            out.append(f'{key}: cpus must be a number above 0, e.g. 0.5 (got "{res["cpus"]}")')
        if "memory" in res and not BYTES.match(str(res["memory"])):
            out.append(f'{key}: memory must be a size such as 64M or 1G (got "{res["memory"]}")')
    if "restart_config" in spec:
        restart = spec["restart_config"]
        if not isinstance(restart, dict) or set(restart) - {"condition", "delay", "max_attempts", "window"}:
            out.append("restart_config must be a mapping with condition, delay, max_attempts and window")
        else:
            if restart.get("condition", "any") not in ("none", "on-failure", "any"):
                out.append(f'restart_config: condition must be none, on-failure or any (got "{restart["condition"]}")')
            for key in ("delay", "window"):
                if key in restart and not DURATION.match(str(restart[key])):
                    out.append(f'restart_config: {key} must be a duration such as 5s or 1m30s (got "{restart[key]}")')
            if "max_attempts" in restart and not WHOLE.match(str(restart["max_attempts"])):
                out.append(f'restart_config: max_attempts must be a whole number (got "{restart["max_attempts"]}")')
    if "logging" in spec:
        logging = spec["logging"]
        if not isinstance(logging, dict) or set(logging) - {"driver", "options"} or not isinstance(logging.get("driver", ""), str):
            out.append("logging must be a mapping with driver (e.g. json-file) and options")
        elif "options" in logging and not _mapping_of_strings(logging["options"]):
            out.append("logging: options must be a mapping of names to strings (quote numbers: max-file: \"3\")")
    return out


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


def _as_service(spec: dict[str, Any]) -> dict[str, Any]:
    """A checked spec as the Engine API would list the service: what placement and reservations need."""
    mode = {"Global": {}} if spec.get("mode") == "global" else {"Replicated": {"Replicas": int(spec.get("replicas", 1))}}
    placement = spec.get("placement") or {}
    ports = [{"PublishedPort": p.get("published"), "PublishMode": "host"} for p in spec.get("ports") or [] if p.get("mode") == "host"]
    rules = {"Constraints": placement.get("constraints") or [], "MaxReplicas": placement.get("replicas_max_per_node") or 0}
    reserved = int(float((spec.get("reservations") or {}).get("cpus", 0)) * 1e9)
    task = {"Placement": rules, "Resources": {"Reservations": {"NanoCPUs": reserved}}}
    return {"Spec": {"Name": spec["name"], "Mode": mode, "EndpointSpec": {"Ports": ports}, "TaskTemplate": task}}


def cpu_problems(specs: list[dict[str, Any]], services: list[dict[str, Any]], nodes: list[dict[str, Any]]) -> list[str]:
    """Specs whose tasks would find no node with the CPUs they reserve free, beside the swarm's other services."""
    ours = {s["name"] for s in specs}
    others = [s for s in services if s.get("Spec", {}).get("Name") not in ours]
    wanted = [_as_service(s) for s in specs if s.get("state", "present") == "present" and (s.get("reservations") or {}).get("cpus")]
    short = cpu_shortfall(others + wanted, nodes)
    total = sum(cpus(n) for n in nodes) / 1e9
    return [f"Service {w['Spec']['Name']}: {short[w['Spec']['Name']]} of its tasks would find no node with the "
            f"{float(spec['reservations']['cpus']):g} CPUs each reserves free ({len(fits(w, nodes))} nodes may take them, "
            f"{total:g} CPUs in all, some reserved by other services); lower reservations.cpus or the replicas, or add nodes"
            for w, spec in zip(wanted, [s for s in specs if s.get("state", "present") == "present" and (s.get("reservations") or {}).get("cpus")])
            if w["Spec"]["Name"] in short]


def spec_problems(
    specs: Any,
    services: list[dict[str, Any]] | None = None,
    cap: Any = None,
    networks: Any = None,
    secrets: Any = None,
    configs: Any = None,
    nodes: list[dict[str, Any]] | None = None,
) -> list[str]:
    """Every problem of a list of service specs and of the networks, secrets and configs they use; `services`
    (docker_swarm_info's, verbose) finds ports taken by others."""
    if not isinstance(specs, list):
        return ["swarm_services_specs must be a list of service specs (name, image, replicas, ports)"]
    objects = {"networks": networks, "secrets": secrets, "configs": configs}
    problems = [p for kind, objs in objects.items() for p in object_problems(kind, objs)]
    declared = {kind: _present(objs) if isinstance(objs, list) else set() for kind, objs in objects.items()}
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
        problems += [f"{who}: {problem}" for problem in _field_problems(spec, declared)]
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
    # Placement is weighed once every spec is sound.
    if not problems and nodes:
        problems += cpu_problems(specs, services or [], nodes)
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


def _file_mode(mode: Any) -> int | None:
    """A file mode given as octal text ("0440", as YAML linters want it) or as a number (0440 in YAML 1.1)."""
    if isinstance(mode, str) and re.match(r"^0?[0-7]{3}$", mode):
        return int(mode, 8)
    if isinstance(mode, int) and not isinstance(mode, bool) and 0 <= mode <= 0o777:
        return mode
    return None


def _refs(refs: list[Any], kind: str, versions: dict[str, str]) -> list[dict[str, Any]]:
    """Secret or config references as docker_swarm_service takes them: the current version of each, mounted under the
    name the spec gave (/run/secrets/NAME, or /NAME for a config, as Docker's CLI does)."""
    key = kind[:-1]  # secret, config
    out = []
    for ref in refs:
        ref = ref if isinstance(ref, dict) else {"source": ref}
        default = ref["source"] if kind == "secrets" else "/" + ref["source"]
        out.append({f"{key}_name": versions[ref["source"]], "filename": ref.get("target", default),
                    **{k: str(ref[k]) for k in ("uid", "gid") if k in ref},
                    **({"mode": _file_mode(ref["mode"])} if "mode" in ref else {})})
    return out


def task_args(spec: dict[str, Any], versions: dict[str, dict[str, str]] | None = None) -> dict[str, Any]:
    """docker_swarm_service's arguments for the spec's fields beyond name, image, replicas, ports and networks: only
    those the spec gives (the others keep what the service has)."""
    versions = versions or {}
    args = {k: spec[k] for k in ("command", "args", "limits", "reservations", "restart_config", "labels", "logging") if k in spec}
    if "mode" in spec:
        args["mode"] = spec["mode"]
    if "mounts" in spec:
        # Docker's default type (the module's is bind).
        args["mounts"] = [{"type": "volume", **m} for m in spec["mounts"]]
    for kind in ("secrets", "configs"):
        if kind in spec:
            args[kind] = _refs(spec[kind] or [], kind, versions.get(kind, {}))
    return args


def login_refusal(result: dict[str, Any]) -> str:
    """A refused docker_login's result as one line: the registry, the user and Docker's reason, not the password."""
    item = result.get("item") or {}
    reason = str(result.get("msg") or "no reason given")
    password = str(item.get("password") or "")
    if password:
        reason = reason.replace(password, "********")
    return f"{item.get('registry', '?')} as {item.get('username', '?')}: {reason}"


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {
            "swarm_services_spec_problems": spec_problems,
            "swarm_services_image_problem": image_problem,
            "swarm_services_replicas_problem": replicas_problem,
            "swarm_services_ingress_ports": ingress_ports,
            "swarm_services_task_args": task_args,
            "swarm_services_proxy_name": proxy_name,
            "swarm_services_login_refusal": login_refusal,
        }
