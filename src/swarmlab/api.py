"""swarmlab's operations for other tools: each runs its playbook and returns typed results.

Every function takes `inventory` (None: the lab's), `verbose` (Ansible's own output) and `on_event`
(ansible-runner's events, e.g. for a progress display). Errors users can cause raise LabError or
PlaybookError with a one-line message; a check that finds problems returns them instead.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from swarmlab import inventory as inventories
from swarmlab import context, lab, paths, warm
from swarmlab.lab import LabError
from swarmlab.runner import PlaybookError, RunResult, run_playbook

EventHandler = Callable[[dict[str, Any]], None]
TEMPLATES = ("1m2w", "3m2w", "5m", "walkthrough")
EXERCISES = ("nginx", "httpd", "app")
DRIVERS = ("container", "vm")


@dataclass(frozen=True)
class Check:
    check: str  # node, service or http
    target: str
    ok: bool
    detail: str


@dataclass(frozen=True)
class CheckReport:
    result: RunResult
    checks: list[Check]

    @property
    def ok(self) -> bool:
        return self.result.ok and all(c.ok for c in self.checks)


@dataclass(frozen=True)
class PruneReport:
    result: RunResult
    freed: dict[str, dict[str, int]]  # per node: freed_bytes, containers, images, networks, volumes


@dataclass(frozen=True)
class UpgradeReport:
    result: RunResult
    # The swarm members upgraded one at a time, in their order: host, manager, leader, changes ("NAME FROM → TO").
    plan: list[dict[str, Any]]


@dataclass(frozen=True)
class BackupReport:
    result: RunResult
    path: Path  # the archive, mode 0600


@dataclass(frozen=True)
class Status:
    result: RunResult
    nodes: list[dict[str, Any]]  # docker node ls
    services: list[dict[str, Any]]  # docker service ls, each with its tasks (docker service ps)


def _run(
    playbook: str,
    inventory: Path | None,
    extravars: dict[str, Any],
    verbose: bool,
    on_event: EventHandler | None,
    hosts: int | None = None,
    limit: str | None = None,
    check: bool = False,
) -> RunResult:
    result = run_playbook(playbook, inventory, extravars, limit=limit, hosts=hosts, check=check, verbose=verbose, on_event=on_event)
    if not result.ok:
        raise PlaybookError(result)
    return result


def _fact(result: RunResult, name: str) -> Any:
    return next((facts[name] for facts in result.facts.values() if name in facts), None)


def inventory(given: Path | None = None) -> Path:
    """The inventory to use: the given one (checked: it must have managers) or the lab's."""
    if given is None:
        return lab.inventory()
    read = inventories.read(given)
    if not read.managers:
        raise LabError(f"inventory {given} has no host in the group '{read.managers_group}'; the swarm needs at least one manager")
    return given


def nodes_of(path: Path) -> list[str]:
    return sorted(inventories.read(path).nodes)


def hosts_of(path: Path) -> dict[str, dict[str, Any]]:
    """Every node of the swarm, managers first in inventory order, each with its variables."""
    read = inventories.read(path)
    return read.with_vars(read.nodes)


def managers_of(path: Path) -> dict[str, dict[str, Any]]:
    """The swarm's managers in inventory order, each with its variables (connection settings among them)."""
    read = inventories.read(path)
    return read.with_vars(read.managers)


def exercise(name: str) -> dict[str, Any]:
    """The vars of an exercise (nginx, httpd) or of a YAML file with swarm_services_specs."""
    path = paths.ROOT / "exercises" / f"{name}.yml"
    if not path.exists():
        path = Path(name)
    if not path.is_file():
        raise LabError(f"no exercise {name!r} and no such spec file; exercises: {', '.join(EXERCISES)}")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise LabError(f"{path} is not UTF-8 text; save the spec file as UTF-8") from None
    except yaml.YAMLError as exc:
        raise LabError(f"{path} is not valid YAML: {' '.join(str(exc).split())}") from None
    if not isinstance(data, dict) or not isinstance(data.get("swarm_services_specs"), list):
        raise LabError(f"{path} has no swarm_services_specs list")
    # A secret's or config's file is named relative to the spec file, as in a Compose file (Ansible runs elsewhere).
    for kind in ("swarm_services_secrets", "swarm_services_configs"):
        for obj in data.get(kind) or []:
            if isinstance(obj, dict) and isinstance(obj.get("file"), str) and "{{" not in obj["file"]:
                obj["file"] = str((path.parent / obj["file"]).absolute())
    return data


MADE = "made.json"  # how a lab's nodes were made, in its state directory: gone with `lab down`
MADE_DEFAULTS: dict[str, Any] = {"driver": "container", "ready": False, "memory": "", "registry": False}
# The default lab's networks are the lab_nodes role's defaults; another lab gets the first free pair of these /24s
# (its nodes' network, its VMs' host-only network), kept in its record.
_SUBNETS = [(f"172.31.{n}.0/24", f"192.168.{100 + n}.0/24") for n in range(1, 156)]


@dataclass(frozen=True)
class Made:
    """How the lab's nodes are made, as docker-machine keeps a host's driver: a flag given, else the lab's own
    record, else the default."""

    driver: str
    ready: bool
    memory: str
    registry: bool
    kept: list[str]  # what the lab's record set, no flag given and not the default: the flags, e.g. "--ready"
    changed: list[tuple[str, str]]  # what a flag changed: (the flag it was made with, the one given)


def _flag(key: str, value: Any) -> str:
    if key in ("ready", "registry"):
        return f"--{key}" if value else f"--no-{key}"
    return f"--{key} {value}" if value else f"no --{key}"


def _record(lab_name: str) -> dict[str, Any]:
    try:
        record = json.loads((paths.lab_state(lab_name) / MADE).read_text())
    except (OSError, ValueError):
        return {}
    return record if isinstance(record, dict) else {}


def lab_made(driver: str | None = None, ready: bool | None = None, memory: str | None = None, registry: bool | None = None) -> Made:
    """How the current lab's nodes are made this run (None or "": not given)."""
    last = _record(lab.current())
    given = {"driver": driver, "ready": ready, "memory": memory or None, "registry": registry}
    made = {k: given[k] if given[k] is not None else last.get(k, default) for k, default in MADE_DEFAULTS.items()}
    kept = [_flag(k, made[k]) for k in MADE_DEFAULTS if given[k] is None and k in last and made[k] != MADE_DEFAULTS[k]]
    changed = [(_flag(k, last[k]), _flag(k, made[k])) for k in MADE_DEFAULTS if given[k] is not None and k in last and made[k] != last[k]]
    return Made(made["driver"], made["ready"], made["memory"], made["registry"], kept, changed)


def _subnets(lab_name: str) -> dict[str, str]:
    """lab_nodes' subnet variables for a lab: none for the default lab; the record's, else the first free pair."""
    if lab_name == lab.DEFAULT_LAB:
        return {}
    last = _record(lab_name)
    if last.get("subnet") and last.get("vm_subnet"):
        return {"lab_nodes_subnet": last["subnet"], "lab_nodes_vm_subnet": last["vm_subnet"]}
    taken = [ipaddress.ip_network(c["Subnet"], strict=False) for net in lab.engine().networks.list()
             for c in ((net.attrs.get("IPAM") or {}).get("Config") or []) if ":" not in c.get("Subnet", ":")]
    taken += [ipaddress.ip_network(r[k]) for other in lab.labs() if other != lab_name and (r := _record(other)) for k in ("subnet", "vm_subnet") if r.get(k)]
    for subnet, vm_subnet in _SUBNETS:
        if not any(ipaddress.ip_network(n).overlaps(t) for n in (subnet, vm_subnet) for t in taken):
            return {"lab_nodes_subnet": subnet, "lab_nodes_vm_subnet": vm_subnet}
    raise LabError("no free subnet is left for another lab (172.31.1-155.0/24): remove a lab with `swarmlab lab down --lab NAME`")


@contextlib.contextmanager
def _keeping_made(extravars: dict[str, Any]) -> Iterator[None]:
    """Records how the lab's nodes were made once the run ends, failed or not, if it left nodes (made that way)."""
    try:
        yield
    finally:
        name = extravars["lab_nodes_lab"]
        if lab.nodes(name):
            state = paths.lab_state(name)
            state.mkdir(parents=True, exist_ok=True)
            record = {"driver": extravars["lab_nodes_driver"], "ready": extravars["lab_nodes_ready"],
                      "memory": extravars.get("lab_nodes_memory", ""), "registry": extravars.get("lab_nodes_registry", False),
                      "subnet": extravars.get("lab_nodes_subnet", ""), "vm_subnet": extravars.get("lab_nodes_vm_subnet", "")}
            (state / MADE).write_text(json.dumps(record) + "\n")


def lab_up(
    managers: int = 1,
    workers: int = 2,
    template: str = "",
    memory: str = "",
    *,
    driver: str = "container",
    ready: bool = False,
    registry: bool = False,
    verbose: bool = False,
    on_event: EventHandler | None = None,
) -> RunResult:
    """`ready`: nodes start from the ready-made image, the engine installed once by the docker_engine role.
    `registry`: the lab has a private registry (TLS from a lab CA, a login) that its nodes pull the exercises from."""
    extravars = lab_vars(managers, workers, template, memory, driver, ready, registry)
    lab.engine()
    # A template's size is the role's to know: ansible.cfg's forks apply.
    with _keeping_made(extravars):
        return _run("lab/nodes", None, extravars, verbose, on_event, hosts=None if template else managers + workers)


def up(
    name: str = "nginx",
    *,
    driver: str = "container",
    ready: bool = False,
    memory: str = "",
    workers: int = 2,
    registry: bool = False,
    verbose: bool = False,
    on_event: EventHandler | None = None,
) -> CheckReport:
    """The lab's nodes (1 manager and 2 workers unless told), their engines and swarm, an exercise's services and the
    checks, in one run (up.yml): lab_up, site, services and verify without a start and an inventory read each. A step
    that fails ends the run and raises; failed checks are returned, as check() does. A lab whose checks pass is
    recorded for the warm path (lab_unchanged)."""
    nodes, wanted = lab_vars(1, workers, memory=memory, driver=driver, ready=ready, registry=registry), exercise(name)
    lab.engine()
    warm.forget(lab.current())
    with _keeping_made(nodes):
        # The run reads the inventory its first play writes (paths.lab_inventory: the checkout's or the state directory's).
        result = run_playbook("lab/up", nodes["lab_nodes_inventory"], {**nodes, **wanted}, fatal=True, verbose=verbose, on_event=on_event)
    report = _report(result)
    if report.ok:
        warm.remember(lab.current(), Path(nodes["lab_nodes_inventory"]), nodes, wanted)
    return report


def lab_unchanged(
    name: str = "nginx", *, driver: str = "container", ready: bool = False, memory: str = "", workers: int = 2, registry: bool = False
) -> tuple[str, float]:
    """The warm path's test, for `swarmlab up` and the bench alike: why the current lab differs from its last checked
    run as up() would make it ("" when it does not: only the checks need to run), and the seconds the read took."""
    nodes = lab_vars(1, workers, memory=memory, driver=driver, ready=ready, registry=registry)
    return warm.difference(lab.current(), Path(nodes["lab_nodes_inventory"]), nodes, exercise(name))


def lab_vars(
    managers: int = 1, workers: int = 2, template: str = "", memory: str = "", driver: str = "container", ready: bool = False, registry: bool = False
) -> dict[str, Any]:
    """lab/nodes.yml's variables for the current lab (lab.current()); LabError for a lab that cannot be."""
    if template and template not in TEMPLATES:
        raise LabError(f"unknown template {template!r}; choose one of {', '.join(TEMPLATES)}")
    if managers < 1 or workers < 0:
        raise LabError(f"a lab needs at least 1 manager and 0 or more workers (got {managers} and {workers})")
    if driver not in DRIVERS:
        raise LabError(f"unknown driver {driver!r}; choose one of {', '.join(DRIVERS)}")
    extravars: dict[str, Any] = {
        "lab_nodes_managers": managers,
        "lab_nodes_workers": workers,
        "lab_nodes_template": template,
        "lab_nodes_driver": driver,
        "lab_nodes_ready": ready,
        "lab_nodes_lab": lab.current(),
        "lab_nodes_inventory": str(paths.lab_inventory(lab.current())),
        **_subnets(lab.current()),
    }
    if memory:
        extravars["lab_nodes_memory"] = memory
    if registry:
        extravars["lab_nodes_registry"] = True
    return extravars


def lab_down(*, verbose: bool = False, on_event: EventHandler | None = None) -> RunResult:
    lab.engine()
    name = lab.current()
    result = _run("lab/down", None, {"lab_nodes_lab": name, "lab_nodes_inventory": str(paths.lab_inventory(name))}, verbose, on_event)
    context.forget(name)
    return result


def provision(
    inventory_path: Path | None = None,
    *,
    limit: str | None = None,
    check: bool = False,
    verbose: bool = False,
    on_event: EventHandler | None = None,
) -> RunResult:
    """Engines and swarm; `limit` (Ansible's --limit) provisions only those hosts, e.g. a node joining a running swarm;
    `check` (--check --diff) reports what would change and changes nothing."""
    path = inventory(inventory_path)
    if limit is not None:
        known = nodes_of(path)
        wanted = [h.strip() for h in limit.split(",") if h.strip()]
        unknown = [h for h in wanted if h not in known]
        if not wanted or unknown:
            raise LabError(f"--limit names no node of the inventory: {', '.join(unknown) or repr(limit)}; its nodes: {', '.join(known)}")
    return _run("site", path, {}, verbose, on_event, limit=limit, check=check)


def _with_overrides(specs: dict[str, Any], replicas: int | None, timeout: int | None) -> dict[str, Any]:
    out = dict(specs)
    if replicas is not None:
        if replicas < 0:
            raise LabError(f"replicas must be 0 or more (got {replicas})")
        # Global services have no replicas: one task per node.
        out["swarm_services_specs"] = [s if isinstance(s, dict) and s.get("mode") == "global" else {**s, "replicas": replicas}
                                       for s in specs["swarm_services_specs"]]
    return {**out, **_timeout(timeout)}


def _timeout(timeout: int | None) -> dict[str, Any]:
    if timeout is None:
        return {}
    if timeout < 1:
        raise LabError(f"the timeout must be at least 1 second (got {timeout})")
    return {"swarm_services_converge_timeout": timeout}


def deploy(
    name: str = "nginx",
    inventory_path: Path | None = None,
    *,
    replicas: int | None = None,
    timeout: int | None = None,
    verbose: bool = False,
    on_event: EventHandler | None = None,
) -> RunResult:
    extravars = _with_overrides(exercise(name), replicas, timeout)
    return _run("services", inventory(inventory_path), extravars, verbose, on_event)




def stack_file(name: str) -> Path:
    """A Compose exercise (nginx, httpd: exercises/NAME.compose.yml) or a Compose file's path."""
    path = paths.ROOT / "exercises" / f"{name}.compose.yml"
    if not path.exists():
        path = Path(name)
    if not path.is_file():
        raise LabError(f"no Compose exercise {name!r} and no such file; Compose exercises: nginx, httpd")
    return path.absolute()


def deploy_stack(
    name: str,
    stack: str,
    inventory_path: Path | None = None,
    *,
    absent: bool = False,
    timeout: int | None = None,
    verbose: bool = False,
    on_event: EventHandler | None = None,
) -> RunResult:
    """docker stack deploy -c FILE STACK (or docker stack rm STACK), checked first and waited for."""
    extravars = {"swarm_services_stack": stack, "swarm_services_stack_state": "absent" if absent else "present",
                 "swarm_services_stack_file": "" if absent else str(stack_file(name)), **_timeout(timeout)}
    return _run("stack", inventory(inventory_path), extravars, verbose, on_event)


def update(
    service: str,
    image: str,
    inventory_path: Path | None = None,
    *,
    timeout: int | None = None,
    verbose: bool = False,
    on_event: EventHandler | None = None,
) -> RunResult:
    """`docker service update --image`: only the image of the service as it runs changes, whatever made it."""
    extravars = {"service": service, "image": image, **_timeout(timeout)}
    return _run("update", inventory(inventory_path), extravars, verbose, on_event)


def scale(
    service: str,
    replicas: int,
    inventory_path: Path | None = None,
    *,
    timeout: int | None = None,
    verbose: bool = False,
    on_event: EventHandler | None = None,
) -> RunResult:
    """`docker service scale SERVICE=N`: only the replicas of the service as it runs change."""
    extravars = {"service": service, "replicas": replicas, **_timeout(timeout)}
    return _run("scale", inventory(inventory_path), extravars, verbose, on_event)


def remove(service: str, inventory_path: Path | None = None, *, verbose: bool = False, on_event: EventHandler | None = None) -> RunResult:
    """`docker service rm`, with the proxy swarmlab put in front of the service."""
    return _run("rm", inventory(inventory_path), {"service": service}, verbose, on_event)


def rollback(service: str, inventory_path: Path | None = None, *, verbose: bool = False, on_event: EventHandler | None = None) -> RunResult:
    return _run("rollback", inventory(inventory_path), {"service": service}, verbose, on_event)


ROTATIONS = ("join-tokens", "ca", "unlock-key")


def rotate(what: list[str], inventory_path: Path | None = None, *, verbose: bool = False, on_event: EventHandler | None = None) -> RunResult:
    """`docker swarm join-token --rotate` (worker and manager), `docker swarm ca --rotate` (waited for until every
    node's certificate is issued by the new root) and/or `docker swarm unlock-key --rotate` (the new key written into
    the inventory's swarm_unlock_key_file). Once per call: nothing rotates on later runs."""
    unknown = [w for w in what if w not in ROTATIONS]
    if not what or unknown:
        raise LabError(f"say what to rotate: {', '.join(ROTATIONS)} (got {', '.join(what) or 'nothing'})")
    return _run("rotate", inventory(inventory_path), {"rotate": ",".join(what)}, verbose, on_event)


def upgrade(
    version: str | None = None,
    drain: bool = True,
    check: bool = False,
    inventory_path: Path | None = None,
    *,
    verbose: bool = False,
    on_event: EventHandler | None = None,
) -> UpgradeReport:
    """The engines to `version` (an apt version; default: the inventory's docker_engine_version): swarm members one
    at a time, managers first with the leader last, then workers, each drained, upgraded, ready again and made
    active. check: only list that order and each node's packages."""
    extravars: dict[str, Any] = {}
    if version:
        extravars["docker_engine_version"] = version
    if not drain:
        extravars["docker_engine_upgrade_drain"] = False
    result = _run("upgrade", inventory(inventory_path), extravars, verbose, on_event, check=check)
    return UpgradeReport(result=result, plan=_fact(result, "docker_engine_upgrade_plan") or [])


def backup(
    output: Path | None = None,
    drain: bool = True,
    inventory_path: Path | None = None,
    *,
    verbose: bool = False,
    on_event: EventHandler | None = None,
) -> BackupReport:
    """Docker's swarm backup from a manager that is not the leader; returns the archive (mode 0600: it holds the
    swarm's keys). output: where to put it (default: swarm_backup_dir, ~/.local/state/swarmlab/backups)."""
    extravars: dict[str, Any] = {} if drain else {"swarm_backup_drain": False}
    with tempfile.TemporaryDirectory(prefix="swarmlab-backup-") as private:  # mode 0700
        if output is not None:
            if output.is_dir():
                raise LabError(f"{output} is a directory; give the archive's file name (-o DIR/swarm.tar.gz)")
            if not output.parent.is_dir():
                raise LabError(f"no directory {output.parent} for the archive; create it first")
            extravars["swarm_backup_dir"] = private
        result = _run("backup", inventory(inventory_path), extravars, verbose, on_event)
        made = Path(_fact(result, "swarm_backup_path"))
        if output is None:
            return BackupReport(result=result, path=made)
        # Never readable by others, not even for a moment: written 0600 from the start, then moved into place.
        partial = output.with_name(f".{output.name}.partial")
        with made.open("rb") as src, os.fdopen(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as dst:
            os.fchmod(dst.fileno(), 0o600)
            shutil.copyfileobj(src, dst)
        os.replace(partial, output)
        return BackupReport(result=result, path=output)


def recover(
    node: str | None = None, inventory_path: Path | None = None, *, verbose: bool = False, on_event: EventHandler | None = None
) -> RunResult:
    """Docker's recovery from a lost quorum, from `node` (default: the first listed manager that answers): refused
    while any manager sees a leader."""
    path = inventory(inventory_path)
    if node is not None and node not in managers_of(path):
        raise LabError(f"{node!r} is not a manager of the inventory; its managers: {', '.join(managers_of(path))}")
    return _run("recover", path, {"recover_node": node} if node else {}, verbose, on_event)


def restore(
    archive: Path, node: str | None = None, inventory_path: Path | None = None, *, verbose: bool = False,
    on_event: EventHandler | None = None,
) -> RunResult:
    """Docker's restore from a backup (backup()'s archive) onto `node` (default: the inventory's first manager), a
    manager with no swarm state and the same or a newer engine; the other nodes join it again. Refused while any
    manager sees a leader."""
    path = inventory(inventory_path)
    archive = archive.expanduser()
    if not archive.is_file():
        raise LabError(f"{archive} is not a file: give the archive `swarmlab backup` made")
    if node is not None and node not in managers_of(path):
        raise LabError(f"{node!r} is not a manager of the inventory; its managers: {', '.join(managers_of(path))}")
    extravars: dict[str, Any] = {"restore_file": str(archive.resolve())}
    if node:
        extravars["restore_node"] = node
    return _run("restore", path, extravars, verbose, on_event)


def availability(
    node: str, state: str, inventory_path: Path | None = None, *, verbose: bool = False, on_event: EventHandler | None = None
) -> RunResult:
    path = inventory(inventory_path)
    known = nodes_of(path)
    if node not in known:
        raise LabError(f"no node {node!r} in the inventory; it has: {', '.join(known)}")
    return _run("availability", path, {"node": node, "availability": state}, verbose, on_event)


def prune(
    volumes: bool = False, inventory_path: Path | None = None, *, verbose: bool = False, on_event: EventHandler | None = None
) -> PruneReport:
    result = _run("prune", inventory(inventory_path), {"docker_prune_volumes": volumes}, verbose, on_event)
    freed = {
        host: {k: int(v) for k, v in facts["docker_prune_report"].items()}
        for host, facts in sorted(result.facts.items())
        if "docker_prune_report" in facts
    }
    return PruneReport(result=result, freed=freed)


def check(
    name: str | None = None, inventory_path: Path | None = None, *, verbose: bool = False, on_event: EventHandler | None = None
) -> CheckReport:
    """verify.yml: nodes, services and pages. `name` (an exercise or spec file) checks against it; None checks what
    is deployed: every service's replicas and image from its own spec, an HTTP answer on every published port.
    Failed checks are returned, not raised."""
    extravars = exercise(name) if name else {}
    return _report(run_playbook("verify", inventory(inventory_path), extravars, verbose=verbose, on_event=on_event))


def _report(result: RunResult) -> CheckReport:
    rows = _fact(result, "verify_rows")
    if rows is None:  # the run stopped before it could check anything
        raise PlaybookError(result)
    return CheckReport(result=result, checks=[Check(**r) for r in rows])


def status(inventory_path: Path | None = None, *, verbose: bool = False, on_event: EventHandler | None = None) -> Status:
    result = _run("status", inventory(inventory_path), {}, verbose, on_event)
    data = _fact(result, "verify_status") or {"nodes": [], "services": []}
    return Status(result=result, nodes=data["nodes"], services=data["services"])
