"""The swarmlab command line: a thin layer over swarmlab.lab and swarmlab.runner."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml
from rich.console import Console
from rich.table import Table

from swarmlab import lab, paths
from swarmlab.runner import PlaybookError, RunResult, run_playbook

app = typer.Typer(no_args_is_help=True, add_completion=False, help="Docker Swarm labs and clusters, built and checked.")
lab_app = typer.Typer(no_args_is_help=True, help="Lab nodes on this host (docker-machine's create/ls/rm).")
app.add_typer(lab_app, name="lab")
console = Console()
err = Console(stderr=True)

Verbose = Annotated[bool, typer.Option("--verbose", "-v", help="Show Ansible's own output.")]
Inventory = Annotated[
    Path | None, typer.Option("--inventory", "-i", help="Inventory of real machines (default: the lab's).")
]


class _Progress:
    """Shows the play and task being run, from ansible-runner's events."""

    def __init__(self, title: str):
        self.status = console.status(title)
        self.title = title

    def __call__(self, event: dict[str, Any]) -> None:
        data = event.get("event_data", {})
        if event.get("event") == "playbook_on_task_start":
            self.status.update(f"{self.title}: {data.get('task', '')}")

    def __enter__(self) -> _Progress:
        self.status.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.status.__exit__(*exc)


def _run(title: str, playbook: str, inventory: Path | None, verbose: bool, **extravars: Any) -> RunResult:
    if playbook.startswith("lab_"):
        lab.engine()
    if verbose:
        result = run_playbook(playbook, inventory, extravars, verbose=True)
    else:
        with _Progress(title) as progress:
            result = run_playbook(playbook, inventory, extravars, on_event=progress)
    if not result.ok:
        raise PlaybookError(result)
    console.print(f"[green]✓[/] {title} ({result.duration:.0f} s, {result.changed} changed)")
    return result


def _inventory(given: Path | None) -> Path:
    if given is None:
        return lab.inventory()
    if not given.exists():
        raise lab.LabError(f"inventory {given} does not exist")
    return given


def _nodes_table(nodes: list[lab.Node]) -> Table:
    table = Table("NAME", "ROLE", "IP", "STATE", "URLS")
    for n in nodes:
        table.add_row(n.name, n.role, n.ip, n.state, " ".join(n.urls))
    return table


TEMPLATES = ("1m2w", "3m2w", "5m", "walkthrough")


def _lab_nodes(managers: int, workers: int, verbose: bool, template: str = "", memory: str = "") -> None:
    if template and template not in TEMPLATES:
        raise lab.LabError(f"unknown template {template!r}; choose one of {', '.join(TEMPLATES)}")
    extravars = {"lab_nodes_managers": managers, "lab_nodes_workers": workers, "lab_nodes_template": template}
    if memory:
        extravars["lab_nodes_memory"] = memory
    _run("lab nodes", "lab_up", None, verbose, **extravars)


@lab_app.command("up")
def lab_up(
    managers: Annotated[int, typer.Option(min=1, help="Number of managers.")] = 1,
    workers: Annotated[int, typer.Option(min=0, help="Number of workers.")] = 2,
    template: Annotated[str, typer.Option(help=f"A ready-made lab: {', '.join(TEMPLATES)}.")] = "",
    memory: Annotated[str, typer.Option(help="Memory limit of each node, e.g. 512m.")] = "",
    verbose: Verbose = False,
) -> None:
    """Create the lab's nodes (idempotent) and write inventory/lab/hosts.yml (and hosts-ssh.yml)."""
    _lab_nodes(managers, workers, verbose, template, memory)
    console.print(_nodes_table(lab.nodes()))


@lab_app.command("shell")
def lab_shell(node: Annotated[str, typer.Argument(help="Node name, as `lab ls` shows it.")]) -> None:
    """Open a shell in a node (docker-machine ssh)."""
    names = [n.name for n in lab.nodes()]
    if node not in names:
        raise lab.LabError(f"no lab node {node!r}; the lab has: {', '.join(names) or 'no nodes (run `swarmlab lab up`)'}")
    os.execvp("docker", ["docker", "exec", "-it", f"{lab.DEFAULT_LAB}-{node}", "bash", "-l"])


@lab_app.command("down")
def lab_down(verbose: Verbose = False) -> None:
    """Remove the lab's nodes, volumes, network and inventory."""
    result = lab.down(verbose=verbose)
    console.print(f"[green]✓[/] lab removed ({result.duration:.0f} s)")


@lab_app.command("ls")
def lab_ls() -> None:
    """List the lab's nodes: name, role, IP, state, published URLs."""
    nodes = lab.nodes()
    if not nodes:
        console.print("no lab nodes; create them with `swarmlab lab up`")
        return
    console.print(_nodes_table(nodes))


@app.command()
def provision(inventory: Inventory = None, verbose: Verbose = False) -> None:
    """Install Docker Engine on every machine of the inventory and form the swarm."""
    _run("Docker engines and swarm", "site", _inventory(inventory), verbose)


def _exercise(name: str) -> dict[str, Any]:
    path = paths.ROOT / "exercises" / f"{name}.yml"
    if not path.exists():
        path = Path(name)
    if not path.exists():
        raise lab.LabError(f"no exercise {name!r} and no such spec file; exercises: nginx, httpd")
    data = yaml.safe_load(path.read_text())
    if not isinstance(data, dict) or "swarm_services_specs" not in data:
        raise lab.LabError(f"{path} has no swarm_services_specs list")
    return data


@app.command()
def deploy(
    exercise: Annotated[str, typer.Argument(help="nginx, httpd, or a YAML file with swarm_services_specs.")] = "nginx",
    inventory: Inventory = None,
    verbose: Verbose = False,
) -> None:
    """Deploy services and wait until every replica runs (docker service create)."""
    _run(f"services ({exercise})", "services", _inventory(inventory), verbose, **_exercise(exercise))


@app.command()
def update(
    service: str,
    image: Annotated[str, typer.Option(help="The new image.")],
    exercise: Annotated[str, typer.Option(help="The exercise or spec file the service comes from.")] = "nginx",
    inventory: Inventory = None,
    verbose: Verbose = False,
) -> None:
    """Rolling update to a new image, waited for (docker service update --image)."""
    specs = _exercise(exercise)
    if service not in [s.get("name") for s in specs["swarm_services_specs"]]:
        raise lab.LabError(f"no service {service!r} in {exercise}")
    _run(f"update {service}", "update", _inventory(inventory), verbose, service=service, image=image, **specs)


@app.command()
def rollback(service: str, inventory: Inventory = None, verbose: Verbose = False) -> None:
    """Back to the previous spec, waited for (docker service update --rollback)."""
    _run(f"rollback {service}", "rollback", _inventory(inventory), verbose, service=service)


@app.command()
def up(verbose: Verbose = False) -> None:
    """From nothing to a 3-node lab: engines, a swarm, and the walkthrough's 3-replica nginx on port 85."""
    _lab_nodes(1, 2, verbose)
    inventory = lab.inventory()
    _run("Docker engines and swarm", "site", inventory, verbose)
    _run("services (nginx)", "services", inventory, verbose, **_exercise("nginx"))
    nodes = lab.nodes()
    console.print(_nodes_table(nodes))
    console.print("WEB (nginx, 3 replicas) answers on every node: " + "  ".join(f"http://{n.ip}:85/" for n in nodes))


def main() -> None:
    try:
        app()
    except (lab.LabError, PlaybookError) as exc:
        err.print(f"[red]swarmlab:[/] {exc}")
        raise SystemExit(1) from None
