"""The swarmlab command line: a thin layer over swarmlab.api that shows progress and tables."""

from __future__ import annotations

import contextlib
import functools
import inspect
import json
import os
import re
import subprocess
import tempfile
import typing
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from swarmlab import api, context, lab, paths
from swarmlab.runner import AnsibleOptions, PlaybookError, RunResult, ansible_options, current_ansible_options

app = typer.Typer(no_args_is_help=True, add_completion=False, help="Docker Swarm labs and clusters, built and checked.")
lab_app = typer.Typer(no_args_is_help=True, help="Lab nodes on this host (docker-machine's create/ls/rm).")
app.add_typer(lab_app, name="lab")
console = Console()
err = Console(stderr=True, soft_wrap=True)

Verbose = Annotated[bool, typer.Option("--verbose", "-v", help="Show Ansible's own output.")]
Inventory = Annotated[Path | None, typer.Option("--inventory", "-i", help="Inventory of real machines (default: the lab's).")]
Json = Annotated[bool, typer.Option("--json", help="Print JSON for machines instead of tables.")]
Exercise = Annotated[str, typer.Argument(help="nginx, httpd, app (a two-tier application), or a YAML file with swarm_services_specs; with --stack, a Compose file (nginx, httpd: their Compose forms).")]
Timeout = Annotated[int | None, typer.Option(min=1, help="Seconds the services may take to converge (default 180).")]
DriverName = Enum("DriverName", {d: d for d in api.DRIVERS}, type=str)  # type: ignore[misc]
# A lab keeps how its nodes were made (driver, --ready, memory) until `lab down`; a flag changes it.
Driver = Annotated[
    DriverName | None,
    typer.Option(help="What makes a node: container (its own engine in a container) or vm (a qemu VM over SSH; root, qemu). "
                 "Default: the lab's, else container."),
]
Ready = Annotated[
    bool | None,
    typer.Option(
        "--ready/--no-ready",
        help="Nodes start with the engine installed (the docker_engine role ran once into their image, containers' or VMs'); "
        "the role only checks it. Default: as the lab was made, else --no-ready.",
    ),
]
Registry = Annotated[
    bool | None,
    typer.Option(
        "--registry/--no-registry",
        help="A private registry for the lab (TLS from a lab CA every node trusts, a login): the exercises' images are pushed "
        "there and nodes pull them by digest, as a fleet does. Default: as the lab was made, else --no-registry.",
    ),
]
T = TypeVar("T")

# Ansible's own options, as ansible-playbook takes them, for every command that runs playbooks.
_ANSIBLE_OPTIONS = [
    inspect.Parameter("extra_vars", inspect.Parameter.KEYWORD_ONLY, default=None, annotation=Annotated[
        list[str] | None, typer.Option("--extra-vars", "-e", help="Variables as ansible-playbook's -e takes them: key=value, JSON, @file; repeatable.",
                                       rich_help_panel="Ansible")]),
    inspect.Parameter("tags", inspect.Parameter.KEYWORD_ONLY, default="", annotation=Annotated[
        str, typer.Option("--tags", "-t", help="Only these phases (comma-separated): install, configure, swarm, services, checks.",
                          rich_help_panel="Ansible")]),
    inspect.Parameter("skip_tags", inspect.Parameter.KEYWORD_ONLY, default="", annotation=Annotated[
        str, typer.Option("--skip-tags", help="Every phase but these.", rich_help_panel="Ansible")]),
    inspect.Parameter("vault_id", inspect.Parameter.KEYWORD_ONLY, default=None, annotation=Annotated[
        list[str] | None, typer.Option("--vault-id", help="A vault password source, as Ansible takes it (label@source); repeatable.",
                                       rich_help_panel="Ansible")]),
    inspect.Parameter("vault_password_file", inspect.Parameter.KEYWORD_ONLY, default=None, annotation=Annotated[
        list[Path] | None, typer.Option("--vault-password-file", help="A file holding a vault password; repeatable.",
                                        rich_help_panel="Ansible")]),
    inspect.Parameter("ask_vault_pass", inspect.Parameter.KEYWORD_ONLY, default=False, annotation=Annotated[
        bool, typer.Option("--ask-vault-pass", help="Ask for the vault password.", rich_help_panel="Ansible")]),
    inspect.Parameter("diff", inspect.Parameter.KEYWORD_ONLY, default=False, annotation=Annotated[
        bool, typer.Option("--diff", help="Show what changes in files and templates.", rich_help_panel="Ansible")]),
]


def with_ansible_options(command: Callable[..., None]) -> Callable[..., None]:
    """Adds Ansible's own options (-e, --tags, --skip-tags, vault, --diff) to a command; every playbook it runs gets them."""

    @functools.wraps(command)
    def run(*args: Any, extra_vars: list[str] | None, tags: str, skip_tags: str, vault_id: list[str] | None,
            vault_password_file: list[Path] | None, ask_vault_pass: bool, diff: bool, **kwargs: Any) -> None:
        with tempfile.TemporaryDirectory(prefix="swarmlab-vault-") as private:
            files = [str(f) for f in vault_password_file or []]
            if ask_vault_pass:
                # Asked here, once, and handed to Ansible as a file only this user can read, removed afterwards.
                asked = Path(private) / "password"
                asked.touch(mode=0o600)
                asked.write_text(typer.prompt("Vault password", hide_input=True))
                files.append(str(asked))
            options = AnsibleOptions(
                extra_vars=tuple(extra_vars or ()), tags=tags, skip_tags=skip_tags, vault_ids=tuple(vault_id or ()),
                vault_password_files=tuple(files), diff=diff,
            )
            with ansible_options(options):
                command(*args, **kwargs)

    # The command's own annotations resolved (this module's are strings), as Typer reads them from the signature.
    hints = typing.get_type_hints(command, include_extras=True)
    params = [p.replace(annotation=hints.get(p.name, p.annotation)) for p in inspect.signature(command).parameters.values()]
    run.__signature__ = inspect.Signature([*params, *_ANSIBLE_OPTIONS])  # type: ignore[attr-defined]
    run.__annotations__ = {p.name: p.annotation for p in run.__signature__.parameters.values()}  # type: ignore[attr-defined]
    return run


def with_lab(command: Callable[..., None], names: tuple[str, ...] = ("--lab",)) -> Callable[..., None]:
    """Adds --lab to a command: the lab it works on (lab.current() within it); -i's inventory, where given, wins."""

    @functools.wraps(command)
    def run(*args: Any, lab_name: str, **kwargs: Any) -> None:
        with lab.using(lab_name) if lab_name else contextlib.nullcontext():
            command(*args, **kwargs)

    option = inspect.Parameter("lab_name", inspect.Parameter.KEYWORD_ONLY, default="", annotation=Annotated[
        str, typer.Option(*names, help=f"The lab (default: $SWARMLAB_LAB, else {lab.DEFAULT_LAB}); several live side by side.",
                          show_default=False)])
    hints = typing.get_type_hints(command, include_extras=True)
    params = [p.replace(annotation=hints.get(p.name, p.annotation)) for p in inspect.signature(command).parameters.values()]
    run.__signature__ = inspect.Signature([*params, option])  # type: ignore[attr-defined]
    run.__annotations__ = {p.name: p.annotation for p in run.__signature__.parameters.values()}  # type: ignore[attr-defined]
    return run


class Progress:
    """Play, task, hosts and result counts from ansible-runner's events, on one live status line (stderr)."""

    def __init__(self, title: str):
        self.title = title
        self.play = ""
        self.task = ""
        self.hosts: set[str] = set()
        self.counts: Counter[str] = Counter()
        self.status = err.status(title)

    def __call__(self, event: dict[str, Any]) -> None:
        kind = event.get("event", "")
        data = event.get("event_data", {})
        if kind == "playbook_on_play_start":
            self.play = data.get("play", "")
        elif kind == "playbook_on_task_start":
            self.task = data.get("task", "")
        elif kind.startswith("runner_on_") and kind not in ("runner_on_start",):
            self.hosts.add(data.get("host", "?"))
            res = data.get("res", {})
            outcome = {"runner_on_ok": "changed" if res.get("changed") else "ok"}.get(kind, kind.removeprefix("runner_on_"))
            self.counts[outcome] += 1
        else:
            return
        counts = " ".join(f"{k} {self.counts[k]}" for k in ("ok", "changed", "failed", "unreachable", "skipped") if self.counts[k])
        self.status.update(f"[bold]{self.title}[/] · {self.play} › {self.task}  [dim]{len(self.hosts)} hosts · {counts}[/]")

    def __enter__(self) -> Progress:
        self.status.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.status.__exit__(*exc)


def _step(title: str, verbose: bool, call: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Runs one api call with a progress line and prints its summary."""
    if verbose:
        out = call(*args, verbose=True, **kwargs)
    else:
        with Progress(title) as progress:
            out = call(*args, on_event=progress, **kwargs)
    result: RunResult = out if isinstance(out, RunResult) else out.result
    hosts = len(result.stats)
    failed = sum(s.failed + s.unreachable for s in result.stats.values())
    mark = "[green]✓[/]" if result.ok else "[red]✗[/]"
    err.print(f"{mark} {title} ({result.duration:.0f} s, {hosts} hosts, {result.changed} changed, {failed} failed)")
    for warning in result.warnings:
        err.print(f"[yellow]warning:[/] {escape(warning)}", highlight=False)
    return out


def _nodes_table(nodes: list[lab.Node]) -> Table:
    table = Table("LAB", "NAME", "DRIVER", "ROLE", "IP", "STATE", "URLS")
    for n in nodes:
        table.add_row(n.lab, n.name, n.driver, n.role, n.ip, n.state, " ".join(n.urls))
    return table


def _made(driver: DriverName | None, ready: bool | None, memory: str = "", registry: bool | None = None) -> api.Made:
    """How the lab's nodes are made this run, said in one line when the lab's own record or a flag decides it."""
    made = api.lab_made(driver.value if driver else None, ready, memory, registry)
    if made.changed:
        err.print("the lab was made with " + ", ".join(old for old, _ in made.changed) + "; it is made with "
                  + ", ".join(new for _, new in made.changed) + " from now on", highlight=False)
    elif made.kept:
        err.print(f"the lab keeps how it was made: {', '.join(made.kept)} (a flag changes it; `lab down` forgets it)", highlight=False)
    return made


@lab_app.command("up")
@with_ansible_options
def lab_up(
    managers: Annotated[int, typer.Option(min=1, help="Number of managers.")] = 1,
    workers: Annotated[int, typer.Option(min=0, help="Number of workers.")] = 2,
    template: Annotated[str, typer.Option(help=f"A ready-made lab: {', '.join(api.TEMPLATES)}.")] = "",
    memory: Annotated[str, typer.Option(help="Memory limit of each node, e.g. 512m (VMs: 1g unless set). Default: the lab's.")] = "",
    driver: Driver = None,
    ready: Ready = None,
    registry: Registry = None,
    verbose: Verbose = False,
) -> None:
    """Create the lab's nodes (idempotent) and write inventory/lab/hosts.yml (and, for containers, hosts-ssh.yml)."""
    made = _made(driver, ready, memory, registry)
    _step("lab nodes", verbose, api.lab_up, managers, workers, template, made.memory, driver=made.driver, ready=made.ready, registry=made.registry)
    console.print(_nodes_table(lab.nodes()))


@lab_app.command("shell")
def lab_shell(node: Annotated[str, typer.Argument(help="Node name, as `lab ls` shows it.")]) -> None:
    """Open a shell in a node (docker-machine ssh)."""
    nodes = {n.name: n for n in lab.nodes()}
    if node not in nodes:
        raise lab.LabError(f"no lab node {node!r}; the lab has: {', '.join(nodes) or 'no nodes (run `swarmlab lab up`)'}")
    if nodes[node].driver == "vm":
        os.execvp("ssh", lab.ssh_argv(nodes[node]))
    os.execvp("docker", ["docker", "exec", "-it", f"{lab.current()}-{node}", "bash", "-l"])


@lab_app.command("context")
def lab_context() -> None:
    """Point this host's docker CLI at the lab's manager over SSH: a docker context named after the lab."""
    made = context.export()
    if made.included:
        console.print(f"added [bold]{context.include_line()}[/] to ~/.ssh/config, once for every lab: each lab's SSH settings are in its state directory")
    console.print(f"docker context {made.name}: {made.host} ({made.node}, {made.ip}), engine {made.engine}")
    console.print(f"Use it: docker --context {made.name} node ls   (or `docker context use {made.name}`); it goes with `swarmlab lab down`")


@lab_app.command("down")
@with_ansible_options
def lab_down(verbose: Verbose = False) -> None:
    """Remove the lab's nodes, volumes, network and inventory."""
    _step("lab removed", verbose, api.lab_down)


@lab_app.command("ls")
def lab_ls(as_json: Json = False) -> None:
    """List every lab's nodes: lab, name, role, IP, state, published URLs."""
    nodes = [n for name in lab.labs() for n in lab.nodes(name)]
    if as_json:
        print(json.dumps([asdict(n) for n in nodes], indent=2))
    elif not nodes:
        console.print("no lab nodes; create them with `swarmlab lab up`")
    else:
        console.print(_nodes_table(nodes))


@app.command()
@with_ansible_options
def provision(
    inventory: Inventory = None,
    limit: Annotated[str | None, typer.Option("--limit", "-l", help="Only these nodes (comma-separated), e.g. one joining a running swarm.")] = None,
    check: Annotated[bool, typer.Option("--check", help="Show what would change (Ansible's --check --diff with -v); change nothing.")] = False,
    verbose: Verbose = False,
) -> None:
    """Install Docker Engine on every machine of the inventory and form the swarm."""
    title = "Docker engines and swarm" + (" (check mode: nothing changed)" if check else "")
    result = _step(title, verbose, api.provision, inventory, limit=limit, check=check)
    if check:
        table = Table("NODE", "WOULD CHANGE", title="check mode")
        for host, task in result.changes:
            table.add_row(host, task)
        console.print(table if result.changes else "nothing would change")


@app.command()
@with_ansible_options
def deploy(
    exercise: Exercise = "nginx",
    replicas: Annotated[int | None, typer.Option(min=0, help="Replicas of every service, instead of the spec's.")] = None,
    timeout: Timeout = None,
    stack: Annotated[str | None, typer.Option(help="Deploy the Compose file (or nginx, httpd) as this stack.")] = None,
    absent: Annotated[bool, typer.Option(help="With --stack: remove the stack (docker stack rm).")] = False,
    inventory: Inventory = None,
    verbose: Verbose = False,
) -> None:
    """Deploy services and wait until every replica runs (docker service create); with --stack, a Compose file as a
    stack (docker stack deploy -c FILE NAME)."""
    if stack:
        if replicas is not None:
            raise lab.LabError("--replicas applies to service specs; a stack's replicas are its file's (deploy.replicas)")
        title = f"stack {stack} ({'removed' if absent else exercise})"
        _step(title, verbose, api.deploy_stack, exercise, stack, inventory, absent=absent, timeout=timeout)
        return
    if absent:
        raise lab.LabError("--absent removes a stack: give --stack NAME (a service spec removes its service with state: absent)")
    _step(f"services ({exercise})", verbose, api.deploy, exercise, inventory, replicas=replicas, timeout=timeout)


Service = Annotated[str, typer.Argument(help="The service, as `swarmlab status` lists it.")]


@app.command()
@with_ansible_options
def update(
    service: Service,
    image: Annotated[str, typer.Option(help="The new image.")],
    timeout: Timeout = None,
    inventory: Inventory = None,
    verbose: Verbose = False,
) -> None:
    """Rolling update of the running service to a new image, waited for (docker service update --image)."""
    _step(f"update {service}", verbose, api.update, service, image, inventory, timeout=timeout)


@app.command()
@with_ansible_options
def scale(
    service: Service,
    replicas: Annotated[int, typer.Argument(min=0, help="Replicas wanted (0 or more).")],
    timeout: Timeout = None,
    inventory: Inventory = None,
    verbose: Verbose = False,
) -> None:
    """Change the running service's replicas, waited for (docker service scale)."""
    _step(f"scale {service} to {replicas}", verbose, api.scale, service, replicas, inventory, timeout=timeout)


@app.command()
@with_ansible_options
def rm(service: Service, inventory: Inventory = None, verbose: Verbose = False) -> None:
    """Remove a service and the proxy in front of it (docker service rm)."""
    _step(f"remove {service}", verbose, api.remove, service, inventory)


@app.command()
@with_ansible_options
def rollback(service: Service, inventory: Inventory = None, verbose: Verbose = False) -> None:
    """Back to the previous spec, waited for (docker service update --rollback)."""
    _step(f"rollback {service}", verbose, api.rollback, service, inventory)


@app.command()
@with_ansible_options
def rotate(
    what: Annotated[list[str], typer.Argument(help="join-tokens (worker and manager), ca (the root CA), unlock-key (autolock's key, into swarm_unlock_key_file); one or more.")],
    inventory: Inventory = None,
    verbose: Verbose = False,
) -> None:
    """Rotate the join tokens (docker swarm join-token --rotate), root CA (docker swarm ca --rotate) or unlock key, once."""
    _step(f"rotate {' and '.join(what)}", verbose, api.rotate, what, inventory)


@app.command()
@with_ansible_options
def upgrade(
    version: Annotated[str | None, typer.Option(help="apt version of docker-ce and docker-ce-cli (default: the inventory's docker_engine_version).")] = None,
    drain: Annotated[bool, typer.Option(help="Drain each node before its upgrade (--no-drain: its tasks stop while its engine restarts).")] = True,
    check: Annotated[bool, typer.Option("--check", help="Only list the order and each node's packages, from → to.")] = False,
    as_json: Json = False,
    inventory: Inventory = None,
    verbose: Verbose = False,
) -> None:
    """Upgrade the engines one node at a time: managers first, the leader last, then workers; each drained, upgraded, ready again."""
    report = _step("upgrade (check)" if check else "upgrade", verbose, api.upgrade, version, drain, check, inventory)
    if as_json:
        print(json.dumps(report.plan, indent=2))
        return
    if not report.plan:
        console.print("No engine in a swarm changes packages" + (" (engines outside a swarm are installed at once)." if report.result.changed else "."))
        return
    table = Table("#", "NODE", "ROLE", "PACKAGES")
    for i, m in enumerate(report.plan, 1):
        role = ("manager, leader" if m["leader"] else "manager") if m["manager"] else "worker"
        table.add_row(str(i), m["host"], role, "\n".join(m["changes"]))
    console.print(table)


@app.command()
@with_ansible_options
def backup(
    output: Annotated[Path | None, typer.Option("--output", "-o", help="The archive's file (default: ~/.local/state/swarmlab/backups/swarm-ID-ENGINE-TIME.tar.gz).")] = None,
    drain: Annotated[bool, typer.Option(help="Drain the manager first (--no-drain: its tasks stop while its engine is stopped).")] = True,
    inventory: Inventory = None,
    verbose: Verbose = False,
) -> None:
    """Back up the swarm from a manager that is not the leader (Docker's procedure); the archive is mode 0600."""
    path = _step("backup", verbose, api.backup, output, drain, inventory).path
    console.print(f"{path} ({path.stat().st_size / 1048576:.1f} MiB, mode 0600: it holds the swarm's keys)")


@app.command()
@with_ansible_options
def recover(
    node: Annotated[str | None, typer.Option(help="The manager to recover from (default: the first listed that answers).")] = None,
    inventory: Inventory = None,
    verbose: Verbose = False,
) -> None:
    """After a lost quorum: a new swarm of a manager that answers and its state (docker swarm init --force-new-cluster); the others join again."""
    _step("recover", verbose, api.recover, node, inventory)


@app.command()
@with_ansible_options
def restore(
    archive: Annotated[Path, typer.Argument(help="The archive `swarmlab backup` made.")],
    node: Annotated[str | None, typer.Option(help="The manager to restore onto, one with no swarm state (default: the inventory's first).")] = None,
    inventory: Inventory = None,
    verbose: Verbose = False,
) -> None:
    """After the managers are lost: a backup onto a fresh or wiped manager (docker swarm init --force-new-cluster); the other nodes join it again."""
    _step("restore", verbose, api.restore, archive, node, inventory)


@app.command()
@with_ansible_options
def drain(node: str, inventory: Inventory = None, verbose: Verbose = False) -> None:
    """Move a node's tasks elsewhere and keep new ones off it, waited for (docker node update --availability drain)."""
    _step(f"drain {node}", verbose, api.availability, node, "drain", inventory)


@app.command()
@with_ansible_options
def activate(node: str, inventory: Inventory = None, verbose: Verbose = False) -> None:
    """Let a node take tasks again (docker node update --availability active)."""
    _step(f"activate {node}", verbose, api.availability, node, "active", inventory)


@app.command()
@with_ansible_options
def prune(
    volumes: Annotated[bool, typer.Option(help="Remove unused volumes too.")] = False,
    as_json: Json = False,
    inventory: Inventory = None,
    verbose: Verbose = False,
) -> None:
    """docker system prune --all on every node; the services must still run afterwards."""
    report = _step("prune", verbose, api.prune, volumes, inventory)
    if as_json:
        print(json.dumps(report.freed, indent=2))
        return
    table = Table("NODE", "FREED", "CONTAINERS", "IMAGES", "NETWORKS", "VOLUMES")
    for host, r in report.freed.items():
        table.add_row(host, f"{r['freed_bytes'] / 1048576:.1f} MiB", *(str(r[k]) for k in ("containers", "images", "networks", "volumes")))
    console.print(table)


@app.command()
@with_ansible_options
def status(as_json: Json = False, inventory: Inventory = None, verbose: Verbose = False) -> None:
    """The swarm's nodes (docker node ls) and services with their tasks per node (docker service ps)."""
    report = _step("status", verbose, api.status, inventory)
    if as_json:
        print(json.dumps({"nodes": report.nodes, "services": report.services}, indent=2))
        return
    nodes = Table("NODE", "ROLE", "STATUS", "AVAILABILITY", "MANAGER", "ADDRESS", "ENGINE", title="nodes")
    for n in report.nodes:
        nodes.add_row(n["name"], n["role"], n["status"], n["availability"], n["manager_status"], n["address"], n["engine"])
    console.print(nodes)
    for s in report.services:
        tasks = Table("TASK", "NODE", "IMAGE", "DESIRED", "STATE", "ERROR", title=f"{s['name']}: {s['replicas']} {s['image']} {' '.join(s['ports'])}")
        for t in s["tasks"]:
            tasks.add_row(t["name"], t["node"], t["image"], t["desired_state"], t["state"], t["error"])
        console.print(tasks)


def _print_checks(report: api.CheckReport, as_json: bool) -> None:
    if as_json:
        print(json.dumps({"ok": report.ok, "checks": [asdict(c) for c in report.checks]}, indent=2))
        return
    table = Table("", "CHECK", "TARGET", "DETAIL")
    for c in report.checks:
        table.add_row("[green]PASS[/]" if c.ok else "[red]FAIL[/]", c.check, c.target, c.detail)
    console.print(table)
    console.print(f"{sum(c.ok for c in report.checks)} of {len(report.checks)} checks passed")


@app.command()
@with_ansible_options
def check(
    exercise: Annotated[
        str | None, typer.Argument(help="nginx, httpd or a spec file to check against; none: what is deployed.")
    ] = None,
    as_json: Json = False,
    inventory: Inventory = None,
    verbose: Verbose = False,
) -> None:
    """Check nodes, services and every node's answer (verify.yml); exit 1 when any check fails."""
    report = _step("checks", verbose, api.check, exercise, inventory)
    _print_checks(report, as_json)
    if not report.ok:
        raise typer.Exit(1)


@app.command()
@with_ansible_options
def up(
    driver: Driver = None,
    ready: Ready = None,
    registry: Registry = None,
    full: Annotated[bool, typer.Option("--full", help="Run every playbook even when the lab matches its last checked run.")] = False,
    verbose: Verbose = False,
) -> None:
    """From nothing to a checked 3-node lab: engines, a swarm, the walkthrough's 3-replica nginx on port 85.
    Again on a lab unchanged since its last checked run, only the checks run."""
    made = _made(driver, ready, registry=registry)
    report = None
    if current_ansible_options() != AnsibleOptions():
        full = True  # what Ansible's options change is not in the last checked run's record
    if not full:
        with err.status("reading the lab's nodes"):
            why, seconds = api.lab_unchanged(driver=made.driver, ready=made.ready, memory=made.memory, registry=made.registry)
        if why:
            err.print(f"full run: {escape(why)}", highlight=False)
        else:
            err.print(f"[green]✓[/] lab unchanged since its last checked run ({seconds:.1f} s): nodes, engines, swarm and services left as they are")
            report = _step("checks", verbose, api.check, "nginx")
            if not report.ok:
                err.print("[yellow]the checks failed on the unchanged lab: running every step[/]")
                report = None
    if report is None:
        report = _step("lab nodes, engines and swarm, services (nginx), checks", verbose, api.up, "nginx", driver=made.driver, ready=made.ready,
                       memory=made.memory, registry=made.registry)
    _print_checks(report, False)
    if not report.ok:
        raise typer.Exit(1)
    nodes = lab.nodes()
    console.print(_nodes_table(nodes))
    console.print("WEB (nginx, 3 replicas) answers on every node: " + "  ".join(f"http://{n.ip}:85/" for n in nodes))
    named = f" --lab {lab.current()}" if lab.current() != lab.DEFAULT_LAB else ""
    console.print(f"Watch it live: swarmlab ui{named}  (then open http://127.0.0.1:8765/)")


@app.command()
def setup() -> None:
    """Make this host ready for labs, as scripts/bootstrap.sh does for a clone: the host packages (debootstrap, qemu,
    ...; installed as root on Debian/Ubuntu, else named with the command to run) and a local Docker engine."""
    for script in ("host.sh", "engine.sh"):
        if subprocess.run(["bash", str(paths.ROOT / "scripts" / script)], check=False).returncode != 0:
            raise typer.Exit(1)
    console.print("[green]✓[/] host packages installed and a Docker engine answers: `swarmlab up` makes a lab")


@app.command()
def ui(
    inventory: Inventory = None,
    host: Annotated[str, typer.Option(help="Address to listen on; anything but loopback lets others see the swarm.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 8765,
) -> None:
    """A live web page of the swarm: nodes, their tasks, services and HTTP answers (read-only; Ctrl-C stops it)."""
    from swarmlab import access, ui as server  # the web stack loads only for this command

    accesses = access.accesses(api.inventory(inventory))
    if not server.is_loopback(host):
        err.print(f"[yellow]warning:[/] listening on {escape(host)}: anyone who reaches this machine sees the swarm's nodes, "
                  "services and addresses (read-only)", highlight=False)
    url = f"http://{'[' + host + ']' if ':' in host else host}:{port}/"
    err.print(escape(f"swarmlab ui: {url} reads the swarm through {', '.join(a.host for a in accesses)}; Ctrl-C stops it"), highlight=False)
    with contextlib.suppress(KeyboardInterrupt):  # uvicorn stops on Ctrl-C, then raises it again
        server.serve(accesses, host, port)
    err.print("swarmlab ui stopped", highlight=False)


@app.command()
def ps(
    service: Service,
    running: Annotated[bool, typer.Option("--running", help="Only tasks meant to run (docker service ps -f desired-state=running).")] = False,
    inventory: Inventory = None,
    as_json: Json = False,
) -> None:
    """A service's tasks: where each runs, its image, desired and current state, its error (docker service ps)."""
    from swarmlab import access, swarmview

    with swarmview.manager_client(access.accesses(api.inventory(inventory))) as (_, client):
        tasks = swarmview.service_tasks(client, service, running)
    if as_json:
        print(json.dumps(tasks, indent=2))
        return
    table = Table("TASK", "IMAGE", "NODE", "DESIRED", "CURRENT", "ERROR")
    now = datetime.now(UTC)
    for t in tasks:
        since = now - datetime.fromisoformat(t["updated"][:19]).replace(tzinfo=UTC) if t["updated"] else None
        current = f"{t['state']} {_ago(since)}" if since is not None else t["state"]
        table.add_row(f"{service}.{t['slot'] or t['node']}", t["image"], t["node"], t["desired"],
                      current, t["error"], style="dim" if t["old"] else None)
    console.print(table)


def _ago(delta: timedelta) -> str:
    seconds = max(0, int(delta.total_seconds()))
    for unit, size in (("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds // size} {unit} ago"
    return f"{seconds} s ago"


@app.command()
def logs(
    service: Service,
    tail: Annotated[int, typer.Option(min=0, help="Lines from the end of each task's log.")] = 100,
    follow: Annotated[bool, typer.Option("--follow", "-f", help="Keep printing new lines until Ctrl-C.")] = False,
    inventory: Inventory = None,
) -> None:
    """A service's logs from every task, each line with its task and node (docker service logs)."""
    from swarmlab import access, swarmview

    with contextlib.suppress(KeyboardInterrupt), swarmview.manager_client(access.accesses(api.inventory(inventory))) as (_, client):
        for line in swarmview.service_logs(client, service, tail, follow):
            print(line, flush=True)


# The roles name Docker's own commands; the CLI adds its own beside them.
_HINTS = (
    (re.compile(r"`docker service update --rollback ([^`\s]+)`"), r"`docker service update --rollback \1` (swarmlab rollback \1)"),
    (re.compile(r"docker node update --availability active NODE"), "docker node update --availability active NODE; swarmlab activate NODE"),
    (re.compile(r"\(playbooks/recover\.yml\)"), "(swarmlab recover [--node NAME])"),
    (re.compile(r"\(-e docker_engine_upgrade_drain=false\)"), "(swarmlab upgrade --no-drain)"),
    (re.compile(r"\(-e swarm_backup_drain=false\)"), "(swarmlab backup --no-drain)"),
    (re.compile(r"\(playbooks/upgrade\.yml\)"), "(swarmlab upgrade)"),
)


def with_cli_hints(text: str) -> str:
    for pattern, hint in _HINTS:
        text = pattern.sub(hint, text)
    return text


# Every command that works on a lab takes --lab (lab up also --name); `setup` and `lab ls` concern every lab.
for _info in [*app.registered_commands, *lab_app.registered_commands]:
    if _info.callback and (_info.name or _info.callback.__name__) not in ("setup", "ls"):
        _info.callback = with_lab(_info.callback, ("--lab", "--name") if _info.callback.__name__ == "lab_up" else ("--lab",))


def main() -> None:
    try:
        app()
    except (lab.LabError, PlaybookError) as exc:
        err.print(f"[red]swarmlab:[/] {escape(with_cli_hints(str(exc)))}", highlight=False)
        raise SystemExit(1) from None
