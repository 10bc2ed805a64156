"""Compose files for `docker stack deploy`: read and checked on the controller before anything changes (each problem
named with the file and the key), and the lab's form of them where nodes lack IPVS (a proxy per published service,
inside the stack)."""

from __future__ import annotations

import copy
import os
import re
from typing import Any

import yaml

from ansible_collections.swarmlab.swarm.plugins.module_utils.swarm_model import IMAGE, OBJECT

# What `docker stack deploy` reads of a Compose file 3.x (docker/cli's compose loader, schema v3.9).
TOP = {"version", "services", "networks", "volumes", "secrets", "configs"}
SERVICE = {
    "image", "command", "entrypoint", "environment", "env_file", "ports", "deploy", "networks", "volumes", "secrets",
    "configs", "healthcheck", "labels", "logging", "user", "working_dir", "hostname", "stop_grace_period", "stop_signal",
    "cap_add", "cap_drop", "sysctls", "ulimits", "tmpfs", "extra_hosts", "dns", "dns_search", "init", "read_only", "tty",
    "stdin_open", "domainname", "expose", "isolation", "privileged",
}  # fmt: skip
# Keys Compose knows that Swarm ignores or refuses: each with what to write instead.
IGNORED = {
    "build": "docker stack deploy builds nothing: build and push the image, then name it in image",
    "restart": "Swarm ignores it: use deploy.restart_policy",
    "container_name": "Swarm names the tasks itself: remove it",
    "depends_on": "Swarm starts services in no order: make the service retry, and remove it",
    "links": "services on one network find each other by name: remove it",
    "network_mode": "not supported in a swarm: use networks",
    "mem_limit": "use deploy.resources.limits.memory",
    "cpus": "use deploy.resources.limits.cpus",
}
DEPLOY = {"mode", "replicas", "placement", "resources", "restart_policy", "update_config", "rollback_config", "labels",
          "endpoint_mode", "max_replicas_per_node"}  # fmt: skip
OBJECTS = {"secrets": {"file", "external", "name", "labels"}, "configs": {"file", "external", "name", "labels"},
           "networks": {"driver", "driver_opts", "attachable", "internal", "external", "name", "labels", "ipam"},
           "volumes": {"driver", "driver_opts", "external", "name", "labels"}}  # fmt: skip
VARIABLE = re.compile(r"\$(?:\$|\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?-)([^}]*))?\}|([A-Za-z_][A-Za-z0-9_]*))")
PORT = re.compile(r"^(?:\d+\.\d+\.\d+\.\d+:)?(?:(\d+)(?:-\d+)?:)?(\d+)(?:-\d+)?(?:/(tcp|udp|sctp))?$")


def ports(service: dict[str, Any]) -> list[dict[str, Any]]:
    """A service's ports in the long syntax ({target, published, protocol, mode}); unreadable ones are left out."""
    out = []
    for port in service.get("ports") or []:
        if isinstance(port, dict):
            out.append({"protocol": "tcp", "mode": "ingress", **port})
        elif (m := PORT.match(str(port))) is not None:
            published = int(m.group(1)) if m.group(1) else None
            out.append({"target": int(m.group(2)), "published": published, "protocol": m.group(3) or "tcp", "mode": "ingress"})
    return out


def interpolate(value: Any, env: dict[str, str], missing: list[str]) -> Any:
    """Compose's variables (${VAR}, ${VAR:-default}, ${VAR-default}, $VAR; $$ for a $) read on the controller, and
    every $ left escaped, since docker stack deploy interpolates the file it is given once more."""
    if isinstance(value, dict):
        return {k: interpolate(v, env, missing) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v, env, missing) for v in value]
    if not isinstance(value, str):
        return value

    def one(m: re.Match[str]) -> str:
        if m.group(0) == "$$":
            return "$"
        name = m.group(1) or m.group(4)
        have = env.get(name)
        if m.group(2) == ":-" and not have or m.group(2) == "-" and have is None:
            return m.group(3)
        if have is None:
            missing.append(name)
            return ""
        return str(have)

    return VARIABLE.sub(one, value).replace("$", "$$")


def _service_names(services: list[dict[str, Any]], stack: str) -> dict[int, str]:
    taken = {}
    for svc in services or []:
        spec = svc.get("Spec", {})
        if (spec.get("Labels") or {}).get("com.docker.stack.namespace") == stack:
            continue
        for p in (spec.get("EndpointSpec") or {}).get("Ports") or []:
            if p.get("PublishedPort"):
                taken[int(p["PublishedPort"])] = spec.get("Name", "")
    return taken


def compose(path: str, stack: str, services: list[dict[str, Any]] | None = None, existing: dict[str, list[str]] | None = None,
            env: dict[str, Any] | None = None) -> dict[str, Any]:
    """The Compose file at `path` for the stack `stack`: {problems: [...], compose: {...}, images: [...], files:
    {"secrets"|"configs": {name: absolute path}}}. `services`: the swarm's (docker_swarm_info, verbose), for ports
    other services publish; `existing`: the names of the swarm's secrets and configs, for external ones; `env`:
    variables for the file's ${VAR}, beside the controller's environment."""
    existing = existing or {}
    out: dict[str, Any] = {"problems": [], "compose": {}, "images": [], "files": {"secrets": {}, "configs": {}}}
    say = out["problems"].append
    if not isinstance(stack, str) or not re.match(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,40}$", stack):
        say(f'stack name "{stack}" must be letters, digits and inner "_", "." or "-" (docker stack deploy NAME)')
    try:
        with open(path, encoding="utf-8") as f:
            data = yaml.safe_load(f)
    except OSError as exc:
        say(f"{path}: cannot be read ({exc.strerror}); give the Compose file's path on the controller")
        return out
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        say(f"{path}: not a YAML file: {' '.join(str(exc).split())}")
        return out
    where = os.path.dirname(os.path.abspath(path))
    missing: list[str] = []
    data = interpolate(data, {**os.environ, **{k: str(v) for k, v in (env or {}).items()}}, missing)
    for name in sorted(set(missing)):
        say(f"{path}: ${{{name}}} is not set (give it in the environment or in swarm_services_stack_env)")
    if not isinstance(data, dict) or not isinstance(data.get("services"), dict) or not data["services"]:
        say(f"{path}: services: a Compose file needs a mapping of services")
        return out
    version = str(data.get("version", "3.9"))
    if not re.match(r"^3(\.[0-9])?$", version):
        say(f'{path}: version: "{version}" is not a Compose file format docker stack deploy reads (3.0 to 3.9)')
    for key in sorted(set(data) - TOP):
        if not str(key).startswith("x-"):
            say(f"{path}: {key}: unknown top-level key (known: {', '.join(sorted(TOP))}, and x-* extensions)")
    declared: dict[str, set[str]] = {}
    for kind, known in OBJECTS.items():
        objects = data.get(kind) or {}
        if not isinstance(objects, dict):
            say(f"{path}: {kind}: must be a mapping of names")
            continue
        declared[kind] = set(objects)
        for name, obj in objects.items():
            obj = obj or {}
            at = f"{path}: {kind}.{name}"
            if not isinstance(obj, dict):
                say(f"{at}: must be a mapping")
                continue
            for key in sorted(set(obj) - known):
                say(f"{at}.{key}: unknown key (known: {', '.join(sorted(known))})")
            if kind not in ("secrets", "configs"):
                continue
            if obj.get("external"):
                real = obj.get("name", name)
                if real not in existing.get(kind, []):
                    say(f"{at}: external {kind[:-1]} {real} does not exist in the swarm (docker {kind[:-1]} ls); create it first")
            elif "file" in obj:
                file = obj["file"] if os.path.isabs(obj["file"]) else os.path.join(where, obj["file"])
                if not os.path.isfile(file):
                    say(f"{at}.file: {file} is not a readable file on the controller")
                elif not OBJECT.match(str(name)):
                    say(f"{at}: name must be letters, digits and inner '_', '.' or '-'")
                else:
                    out["files"][kind][name] = file
            else:
                say(f"{at}: give file (read on the controller) or external: true")
    taken = _service_names(services or [], stack)
    published: dict[int, str] = {}
    for name, svc in data["services"].items():
        at = f"{path}: services.{name}"
        if not isinstance(svc, dict):
            say(f"{at}: must be a mapping")
            continue
        if not re.match(r"^[a-zA-Z0-9][a-zA-Z0-9_-]*$", str(name)):
            say(f"{at}: a service name is letters, digits, '_' and '-'")
        for key in sorted(set(svc) - SERVICE, key=str):
            say(f"{at}.{key}: {IGNORED[key]}" if key in IGNORED else f"{at}.{key}: unknown key")
        image = svc.get("image")
        if image is None:
            say(f"{at}: image is missing (docker stack deploy builds nothing)")
        elif not (isinstance(image, str) and IMAGE.match(image)):
            say(f'{at}.image: "{image}" is not an image reference Docker accepts')
        else:
            out["images"].append(image)
        deploy = svc.get("deploy") or {}
        if not isinstance(deploy, dict):
            say(f"{at}.deploy: must be a mapping")
            deploy = {}
        for key in sorted(set(deploy) - DEPLOY):
            say(f"{at}.deploy.{key}: unknown key (known: {', '.join(sorted(DEPLOY))})")
        if deploy.get("mode", "replicated") not in ("replicated", "global"):
            say(f'{at}.deploy.mode: must be replicated or global (got "{deploy["mode"]}")')
        for kind in ("secrets", "configs", "networks"):
            refs = svc.get(kind) or []
            refs = list(refs) if isinstance(refs, (list, dict)) else []
            for ref in refs:
                source = ref.get("source") if isinstance(ref, dict) else ref
                if kind == "networks" and source == "default":
                    continue
                if source not in declared.get(kind, set()):
                    say(f"{at}.{kind}: {source} is not declared under the top-level {kind}")
        for port in svc.get("ports") or []:
            if not isinstance(port, dict) and not PORT.match(str(port)):
                say(f'{at}.ports: "{port}" is not a port Compose reads (e.g. "8080:80" or {{target: 80, published: 8080}})')
        for port in ports(svc):
            number = port.get("published")
            if number is None:
                continue
            if number in published:
                say(f"{at}.ports: {number} is also published by services.{published[number]}")
            elif number in taken:
                say(f"{at}.ports: {number} is already published by the service {taken[number]} (docker service ls)")
            published.setdefault(int(number), str(name))
    out["compose"] = data
    out["images"] = sorted(set(out["images"]))
    return out


def as_specs(data: dict[str, Any]) -> list[dict[str, Any]]:
    """The stack's services as service specs with their ports, for the role's choice of publishing (publish.yml):
    ports without a mode take the default one, as a spec's do."""
    return [{"name": name, "ports": [{"published": p["published"], **({"mode": "host"} if p.get("mode") == "host" else {})}
                                     for p in ports(svc) if p.get("published")]}
            for name, svc in (data.get("services") or {}).items() if isinstance(svc, dict)]


def proxied(data: dict[str, Any], stack: str, default_mode: str) -> list[dict[str, Any]]:
    """The services whose ingress ports a proxy publishes instead (default_mode proxy: nodes without IPVS), each with
    its full name and those ports as the role's haproxy template reads them."""
    if default_mode != "proxy":
        return []
    out = []
    for name, svc in (data.get("services") or {}).items():
        mesh = [p for p in ports(svc) if p.get("mode") == "ingress" and p.get("published")]
        if mesh:
            out.append({"service": name, "name": f"{stack}_{name}", "replicas": int((svc.get("deploy") or {}).get("replicas", 1)),
                        "ports": [{"published_port": int(p["published"]), "target_port": int(p["target"]), "protocol": p["protocol"]}
                                  for p in mesh]})
    return out


def for_swarm(data: dict[str, Any], stack: str, versions: dict[str, dict[str, str]], proxies: list[dict[str, Any]],
              proxy_image: str, proxy_configs: dict[str, str]) -> dict[str, Any]:
    """The Compose file as it is deployed: file-based secrets and configs as the versions made from the controller
    (external, by name); where a proxy publishes a service's ports, the service answers by DNS round-robin (a
    virtual IP needs IPVS) and a global haproxy service in the stack binds them on every node."""
    data = copy.deepcopy(data)
    for kind in ("secrets", "configs"):
        for name, real in (versions.get(kind) or {}).items():
            data[kind][name] = {"external": True, "name": real}
    if not proxies:
        return data
    for svc in data["services"].values():
        svc.setdefault("deploy", {})["endpoint_mode"] = "dnsrr"
    data.setdefault("configs", {})
    for proxy in proxies:
        svc = data["services"][proxy["service"]]
        moved = {p["published_port"] for p in proxy["ports"]}
        svc["ports"] = [p for p in ports(svc) if p.get("published") not in moved or p.get("mode") != "ingress"]
        config = f"{proxy['service']}-proxy"
        data["configs"][config] = {"external": True, "name": proxy_configs[proxy["name"]]}
        data["services"][config] = {
            "image": proxy_image,
            "networks": list(svc.get("networks") or ["default"]),
            "ports": [{"target": p["published_port"], "published": p["published_port"], "protocol": "tcp", "mode": "host"}
                      for p in proxy["ports"]],
            "configs": [{"source": config, "target": "/usr/local/etc/haproxy/haproxy.cfg"}],
            "deploy": {"mode": "global", "update_config": {"order": "stop-first", "parallelism": 1},
                       "labels": {"org.swarmlab.proxy-for": proxy["name"],
                                  "org.swarmlab.publish": " ".join(f"{p['published_port']}:{p['target_port']}" for p in proxy["ports"])}},
        }
    return data


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {
            "swarm_stack_compose": compose,
            "swarm_stack_proxied": proxied,
            "swarm_stack_as_specs": as_specs,
            "swarm_stack_for_swarm": for_swarm,
        }
