"""swarmlab's benchmark: nothing to a checked swarm, how fast, and how it grows with nodes.

    .venv/bin/python bench/run.py [--nodes 3,5,9] [--baseline/--no-baseline]
    .venv/bin/python bench/run.py --driver vm [--nodes 3]      # qemu VMs: bench/results/vm.{json,md}
    .venv/bin/python bench/run.py --report                  # rewrite latest.md: notes.yml, the suite's last time

Per node count: cold (`swarmlab up`'s one run of up.yml from nothing: lab up → engines → swarm → services
converged → checks, each phase timed), warm (`swarmlab up`'s warm path on the unchanged lab: every node read in
one call, then the checks), a rolling update and rollback, then ready-made (the same cold pass on nodes from the
ready-made image, the engine installed already: `up --ready`; three passes, the median kept). bench/baseline.sh
times the walkthrough's own commands on the same kind of nodes. Results: bench/results/latest.{json,md}.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path
from xml.etree import ElementTree
from typing import Annotated, Any

import typer
import yaml
from rich.console import Console
from rich.table import Table

from swarmlab import access, api, lab, paths
from swarmlab.lab import LabError
from swarmlab.runner import PlaybookError, RunResult, changed_in, run_playbook

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
# The bench's own lab (its network the first free pair, as for any lab beside the default one).
LAB = "bench"
PHASES = ("nodes", "engines", "swarm", "services", "checks")
console = Console()


def _timed(playbook: str, inventory: Path | None, extravars: dict[str, Any], hosts: int | None = None) -> RunResult:
    result = run_playbook(playbook, inventory, extravars, hosts=hosts)
    if not result.ok:
        raise SystemExit(f"bench: {playbook} failed: {result.failures or result.error}")
    return result


def _nginx() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "exercises/nginx.yml").read_text())


# Where each phase after the nodes begins in up.yml: the first play of its playbook, in order (services.yml and
# verify.yml both begin with manager.yml's play).
PHASE_STARTS = (
    ("engines", "Install Docker Engine"),
    ("swarm", "Form the swarm"),
    ("services", "Find the swarm's nodes and a manager that answers"),
    ("checks", "Find the swarm's nodes and a manager that answers"),
)


def _busy() -> float:
    """The machine's busy CPU seconds so far, every core and process (user, nice, system, irq, softirq: /proc/stat),
    as bench/baseline.sh reads them: a pass's share, against its wall time, says how far the cores were its limit."""
    ticks = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:8]]
    return (ticks[0] + ticks[1] + ticks[2] + ticks[5] + ticks[6]) / os.sysconf("SC_CLK_TCK")


def _walkthrough(nodes: int, driver: str, ready: bool = False) -> dict[str, dict[str, Any]]:
    """One pass as `swarmlab up` makes it (api.up), from nothing: up.yml in one run, each phase timed from the play that
    begins it, with its changed count, the machine's busy CPU seconds, its longest steps (a step: from its task's
    start to the next task's or play's, so that a slow pass says where its time went) and what each convergence
    wait waited for (the task that came up last, its states over time, and the tasks' errors). `ready`: nodes from
    the ready-made image."""
    marks: list[tuple[str, float, float]] = []
    changed: dict[str, int] = dict.fromkeys(PHASES, 0)
    steps: dict[str, list[tuple[str, float]]] = {p: [] for p in PHASES}
    step: list[tuple[str, str, float]] = []  # the running step: phase, task, start
    waits: dict[str, list[dict[str, str]]] = {p: [] for p in PHASES}  # what each convergence wait waited for

    def end_step(now: float) -> None:
        if step:
            phase, task, start = step.pop()
            steps[phase].append((task, now - start))

    def on_event(event: dict[str, Any]) -> None:
        data, kind, i, now = event.get("event_data", {}), event.get("event"), len(marks) - 1, time.monotonic()
        if kind in ("playbook_on_play_start", "playbook_on_task_start", "playbook_on_handler_task_start"):
            end_step(now)
        if kind == "playbook_on_play_start" and i < len(PHASE_STARTS) and data.get("play") == PHASE_STARTS[i][1]:
            marks.append((PHASE_STARTS[i][0], now, _busy()))
        elif kind in ("playbook_on_task_start", "playbook_on_handler_task_start"):
            step.append((marks[-1][0], data.get("task", ""), now))
        elif kind == "runner_on_ok" and changed_in(event):
            changed[marks[-1][0]] += 1
        if kind == "runner_on_ok" and "last" in data.get("res", {}):  # swarm_service_wait's result
            res = data["res"]
            waits[marks[-1][0]].append({"task": data.get("task", ""), "last": res["last"], "errors": res.get("errors", "")})

    ended: list[tuple[float, float]] = []  # the playbook's end, before up() records the lab for the warm path

    def on_event_or_end(event: dict[str, Any]) -> None:
        if event.get("event") == "playbook_on_stats":
            ended.append((time.monotonic(), _busy()))
        on_event(event)

    marks.append(("nodes", time.monotonic(), _busy()))
    try:
        report = api.up("nginx", driver=driver, ready=ready, workers=nodes - 1, on_event=on_event_or_end)
    except (PlaybookError, LabError) as exc:
        raise SystemExit(f"bench: up failed: {exc}") from None
    if not report.ok:
        raise SystemExit(f"bench: up's checks failed: {[c for c in report.checks if not c.ok]}")
    end, busy = ended[0] if ended else (time.monotonic(), _busy())
    end_step(end)
    if len(marks) != len(PHASES):
        raise SystemExit(f"bench: up.yml ran {[m[0] for m in marks]}, not every phase's first play: see PHASE_STARTS")
    out = {}
    for (phase, start, cpu0), (_, stop, cpu1) in zip(marks, [*marks[1:], ("end", end, busy)], strict=True):
        longest = sorted(steps[phase], key=lambda s: -s[1])[:3]
        out[phase] = {"seconds": round(stop - start, 2), "changed": changed[phase], "cpu": round(cpu1 - cpu0, 2),
                      "longest": [[task, round(seconds, 2)] for task, seconds in longest],
                      **({"waits": waits[phase]} if waits[phase] else {})}
        top = f"  (longest: {longest[0][0]} {longest[0][1]:.1f} s)" if longest else ""
        console.print(f"  {phase:<9} {stop - start:6.1f} s  cpu {cpu1 - cpu0:6.1f} s  changed={changed[phase]}{top}")
    return out


def _warm(nodes: int, driver: str = "container") -> dict[str, dict[str, float]]:
    """`swarmlab up` again on the unchanged lab: the warm path's read (api.lab_unchanged), then the checks; nothing
    else may run."""
    why, seconds = api.lab_unchanged("nginx", driver=driver, workers=nodes - 1)
    if why:
        raise SystemExit(f"bench: the warm path would run every playbook: {why}")
    r = api.check("nginx").result
    if not r.ok:
        raise SystemExit(f"bench: the warm path's checks failed: {r.failures or r.error}")
    console.print(f"  read      {seconds:6.1f} s\n  checks    {r.duration:6.1f} s  changed={r.changed}")
    return {"read": {"seconds": round(seconds, 2)}, "checks": {"seconds": round(r.duration, 2), "changed": r.changed}}


def _update_rollback(inventory: Path) -> dict[str, float]:
    """swarmlab's update and rollback, then the walkthrough's two commands typed on the manager: the same service,
    network and nodes, so the ratio is swarmlab's own cost (Swarm's per-slot time on the overlay network is in both)."""
    new = "swarmlab/nginx:1.13.5"
    up = _timed("update", inventory, {"service": "WEB", "image": new})
    back = _timed("rollback", inventory, {"service": "WEB"})
    host, hostvars = next(iter(api.managers_of(inventory).items()))

    def raw(args: str) -> float:
        argv = access.access_of(host, hostvars, f"docker service update -q {args} WEB").argv
        t0 = time.monotonic()
        out = subprocess.run(argv, capture_output=True, text=True, check=False)
        if out.returncode != 0:
            raise SystemExit(f"bench: docker service update {args} failed: {out.stderr.strip()[-500:]}")
        return round(time.monotonic() - t0, 2)

    raw_up = raw(f"--no-resolve-image --image {new}")
    raw_back = raw("--rollback")
    console.print(f"  update    {up.duration:6.1f} s (raw {raw_up} s)\n  rollback  {back.duration:6.1f} s (raw {raw_back} s)")
    return {"update": round(up.duration, 2), "rollback": round(back.duration, 2), "raw_update": raw_up, "raw_rollback": raw_back}


def _down() -> None:
    api.lab_down()


def _machine() -> dict[str, Any]:
    def out(*cmd: str) -> str:
        try:
            return subprocess.run(cmd, capture_output=True, text=True, check=False).stdout.strip()
        except OSError:
            return ""

    mem = next((line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal")), "0")
    return {
        "cpus": os.cpu_count(),
        "memory_gib": round(int(mem) / 1048576, 1),
        "kernel": platform.release(),
        "cpu": next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")), ""),
        "docker": out("docker", "version", "--format", "{{.Server.Version}}"),
        "commit": out("git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"),
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }


def _baseline_total(b: dict[str, float]) -> float:
    """The shell baseline's nothing-to-checked-swarm seconds (update and rollback apart)."""
    return round(sum(b[p] for p in ("nodes", "engines", "images", "swarm", "services", "checks")), 2)


def _cpu_total(phases: dict[str, Any], names: tuple[str, ...]) -> float:
    """Busy CPU seconds of a pass's phases (swarmlab's: {phase: {cpu}}; the baseline's: {"cpu": {phase: s}})."""
    if "cpu" in phases and isinstance(phases["cpu"], dict):
        return round(sum(phases["cpu"].get(p, 0) for p in names), 2)
    return round(sum(v.get("cpu", 0) for k, v in phases.items() if isinstance(v, dict) and k in names), 2)


def _ready_target(n: str, run: dict[str, Any], floor: dict[str, Any] | None) -> dict[str, Any] | None:
    """Ready-made pass / the ready-made shell baseline (same image, same publishing), ≤ 2.0x."""
    if not floor or "ready_total" not in run:
        return None
    base = round(sum(floor[p] for p in ("nodes", "swarm", "services", "checks")), 2)
    ratio = _ratio(run["ready_total"], base)
    return {"name": f"ready-made lab / ready-made shell baseline, {n} nodes", "measured": f"{ratio}x ({run['ready_total']} s vs {base} s)",
            "goal": "≤ 2.0x", "met": ratio <= 2.0}


def _cold_targets(n: str, run: dict[str, Any], b: dict[str, Any] | None) -> list[dict[str, Any]]:
    """Cold pass / shell baseline at n nodes, by wall time and by the machine's busy CPU seconds: each ≤ 1.8x."""
    if not b:
        return []
    phases = ("nodes", "engines", "images", "swarm", "services", "checks")
    wall = _ratio(run["cold_total"], _baseline_total(b))
    cpu = _ratio(_cpu_total(run["cold"], ("nodes", "engines", "swarm", "services", "checks")), _cpu_total(b, phases))
    return [{"name": f"cold {n} nodes / shell baseline, wall time", "measured": f"{wall}x", "goal": "≤ 1.8x", "met": wall <= 1.8},
            {"name": f"cold {n} nodes / shell baseline, CPU seconds", "measured": f"{cpu}x", "goal": "≤ 1.8x", "met": cpu <= 1.8}]


def _ready_floor(data: dict[str, Any], n: str) -> Any:
    floor = data.get("ready_baselines", {}).get(n)
    return round(sum(floor[p] for p in ("nodes", "swarm", "services", "checks")), 2) if floor else "-"


def _ratio(a: float, b: float) -> float:
    return round(a / b, 2) if b else 0.0


def _markdown(data: dict[str, Any]) -> str:
    m = data["machine"]
    lines = [
        "# swarmlab benchmark — latest result",
        "",
        f"Machine: {m['cpus']} CPUs ({m['cpu']}), {m['memory_gib']} GiB, kernel {m['kernel']}, Docker {m['docker']}; "
        f"commit {m['commit']}, {m['date']}.",
        "",
        "## Targets",
        "",
        "| target | measured | goal | met |",
        "| --- | --- | --- | --- |",
    ]
    for t in data["targets"]:
        lines.append(f"| {t['name']} | {t['measured']} | {t['goal']} | {'yes' if t['met'] else 'no'} |")
    if data.get("baseline"):
        lines += ["", "## 3 nodes, cold: swarmlab / shell baseline per phase", "",
                  "Wall seconds, and the machine's busy CPU seconds meanwhile (every core and process: the controller, the",
                  f"nodes' apt and engines). With {m['cpus']} cores, a pass cannot take less than its CPU seconds / {m['cpus']}.", "",
                  "| phase | swarmlab s | baseline s | ratio | swarmlab CPU s | baseline CPU s |", "| --- | --- | --- | --- | --- | --- |"]
        for row in data["phases_vs_baseline"]:
            lines.append(f"| {row['phase']} | {row['swarmlab']} | {row['baseline']} | {row['ratio']} "
                         f"| {row.get('swarmlab_cpu', '-')} | {row.get('baseline_cpu', '-')} |")
    lines += [
        "",
        "## Scaling",
        "",
        "| nodes | cold s | shell baseline s | warm s | warm changed | update s (raw) | rollback s (raw) | ready-made s (median) "
        "| ready-made shell baseline s |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for n, run in sorted(data["runs"].items(), key=lambda kv: int(kv[0])):
        b, ur = data.get("baselines", {}).get(n), run["update_rollback"]
        lines.append(
            f"| {n} | {run['cold_total']} | {_baseline_total(b) if b else '-'} | {run['warm_total']} | {run['warm_changed']} "
            f"| {ur['update']} ({ur.get('raw_update', '-')}) | {ur['rollback']} ({ur.get('raw_rollback', '-')}) | {run.get('ready_total', '-')} "
            f"| {_ready_floor(data, n)} |"
        )
    phases = ("read", *PHASES)  # read: the warm path's state read, one call per node
    lines += ["", "## Per phase", "", "| nodes | pass | " + " | ".join(phases) + " |", "| --- | --- | " + " | ".join("---" for _ in phases) + " |"]
    for n, run in sorted(data["runs"].items(), key=lambda kv: int(kv[0])):
        for kind in ("cold", "warm", "ready"):
            if kind in run:
                cells = [f"{run[kind][p]['seconds']}" + (f" ({run[kind][p]['changed']} ch)" if "changed" in run[kind][p] else "")
                         if p in run[kind] else "-" for p in phases]
                lines.append(f"| {n} | {kind} | " + " | ".join(cells) + " |")
    lines += _suite_markdown(data.get("suite", {}))
    if data.get("notes"):
        # One block per note: a paragraph, or a table of older runs' figures.
        lines += ["", "## Notes"] + [line for note in data["notes"] for line in ("", note.rstrip("\n"))]
    return "\n".join(lines) + "\n"


def _ready_measured(run: dict[str, Any]) -> str:
    """The ready-made passes' median, and every pass's total (a run before the median was taken has one)."""
    totals = run.get("ready_totals", [run["ready_total"]])
    return f"{run['ready_total']} s" + (f" (median of {', '.join(f'{t} s' for t in totals)})" if len(totals) > 1 else "")


SUITE_STATE = Path(os.environ.get("XDG_STATE_HOME") or Path.home() / ".local/state") / "swarmlab"
SUITE_LAYERS = {"setup": "host packages and the venv (scripts/bootstrap.sh)", "fast": "fast layer: lint, unit", "docker": "container tests (two workers)", "vm": "VM tests"}


def _suite() -> dict[str, Any]:
    """The target row for the wall time of the last complete, passing scripts/test run here (it writes suite.json)."""
    row = {"name": "full test suite (scripts/test), wall time", "goal": "< 45 min on 2 cores"}
    state = SUITE_STATE / "suite.json"
    if not state.exists():
        return {**row, "measured": "not measured on this machine: run scripts/test", "met": False}
    s = json.loads(state.read_text())
    return {**row, "measured": f"{s['seconds'] // 60} min {s['seconds'] % 60} s (commit {s['commit']}, {s['date']})", "met": s["seconds"] < 45 * 60}


def _suite_detail() -> dict[str, Any]:
    """Where that run's time went: each layer's wall time, each test module's and the five longest tests (JUnit's
    time: a test's setup, call and teardown, so a module's lab lands in its first test)."""
    folder = SUITE_STATE / "suite"
    if not (folder / "layers").exists():
        return {}
    marks = [(name, int(at)) for name, at in (line.split() for line in (folder / "layers").read_text().splitlines())]
    layers = [{"layer": SUITE_LAYERS.get(name, name), "seconds": end - at} for (name, at), (_, end) in zip(marks, marks[1:])]
    tests, modules = [], {}
    for xml in sorted(folder.glob("*.xml")):
        for case in ElementTree.parse(xml).iter("testcase"):
            seconds = float(case.get("time", 0))
            module = case.get("classname", "").replace(".", "/") + ".py"
            tests.append({"test": f"{module}::{case.get('name')}", "seconds": round(seconds)})
            count, total = modules.get(module, (0, 0.0))
            modules[module] = (count + 1, total + seconds)
    # When each container-test worker ended, from the layer's start: how evenly the two shared the modules.
    docker_start = dict(marks).get("docker", 0)
    ends: dict[str, int] = {}
    if (folder / "timeline").exists():
        for line in (folder / "timeline").read_text().splitlines():
            at, worker, nodeid = line.split(" ", 2)
            if worker.startswith("gw") and nodeid.startswith(("tests/integration", "tests/e2e")):
                ends[worker] = max(ends.get(worker, 0), int(at) - docker_start)
    longest = sorted(tests, key=lambda t: -t["seconds"])[:5]
    per_module = [{"module": m, "tests": c, "seconds": round(t)} for m, (c, t) in sorted(modules.items(), key=lambda kv: -kv[1][1]) if t >= 60]
    return {"layers": layers, "longest": longest, "modules": per_module, "worker_ends": dict(sorted(ends.items()))}


def _suite_markdown(detail: dict[str, Any]) -> list[str]:
    if not detail:
        return []
    minutes = lambda s: f"{s // 60} min {s % 60} s"  # noqa: E731
    lines = ["", "## Test suite", "", "The last complete, passing `scripts/test` run on this machine (the target row above).", "",
             "| layer | wall time |", "| --- | --- |"]
    lines += [f"| {row['layer']} | {minutes(row['seconds'])} |" for row in detail["layers"]]
    if detail.get("worker_ends"):
        lines += ["", "Container tests' workers, last test ended after: " + ", ".join(f"{w} {minutes(s)}" for w, s in detail["worker_ends"].items()) + "."]
    lines += ["", "| five longest tests (setup, call, teardown) | seconds |", "| --- | --- |"]
    lines += [f"| {row['test']} | {row['seconds']} |" for row in detail["longest"]]
    if detail["modules"]:
        lines += ["", "| test module (a minute or more; the container tests' modules run on two workers) | tests | seconds |", "| --- | --- | --- |"]
        lines += [f"| {row['module']} | {row['tests']} | {row['seconds']} |" for row in detail["modules"]]
    return lines


def _report() -> None:
    data = json.loads((RESULTS / "latest.json").read_text())
    suite = _suite()
    data["targets"] = [t for t in data["targets"] if t["name"] != suite["name"]] + [suite]
    data["suite"] = _suite_detail()
    data["notes"] = yaml.safe_load((RESULTS / "notes.yml").read_text()) or []
    (RESULTS / "latest.json").write_text(json.dumps(data, indent=2) + "\n")
    (RESULTS / "latest.md").write_text(_markdown(data))
    console.print(f"results: {RESULTS / 'latest.md'}")


def _accelerator() -> str:
    """What the vm driver chose on this machine (kept with the lab's state)."""
    accel = Path.home() / ".local/state/swarmlab" / LAB / "accel"
    return accel.read_text().strip() if accel.exists() else "?"


def main(
    nodes: Annotated[str, typer.Option(help="Node counts to measure, comma-separated (vm: 3 unless given).")] = "",
    baseline: Annotated[bool, typer.Option(help="Also time the shell baseline, at every node count (containers only).")] = True,
    driver: Annotated[str, typer.Option(help="container, or vm: cold and warm on qemu VMs, written to results/vm.*.")] = "container",
    report: Annotated[bool, typer.Option(help="Measure nothing: rewrite latest.md from latest.json with the suite's latest time and notes.yml.")] = False,
    ready_passes: Annotated[int, typer.Option(help="Ready-made passes per node count; the median is kept.", min=1)] = 3,
) -> None:
    if report:
        return _report()
    if driver not in ("container", "vm"):
        raise typer.BadParameter("container or vm", param_hint="--driver")
    counts = sorted({int(n) for n in (nodes or ("3" if driver == "vm" else "3,5,9")).split(",")})
    if any(n < 1 for n in counts):
        raise typer.BadParameter("node counts must be 1 or more", param_hint="--nodes")
    if driver == "vm":
        return _vm(counts)
    _timed("lab/images", None, {})  # built once, outside every measurement
    runs: dict[str, Any] = {}
    with lab.using(LAB):
        inventory = paths.lab_inventory(LAB)
        # The ready-made image too: a one-node ready lab builds it when its recipe changed.
        _down()
        _walkthrough(1, "container", ready=True)
        for n in counts:
            _down()
            console.print(f"[bold]{n} nodes, cold[/]")
            cold = _walkthrough(n, "container")
            console.print(f"[bold]{n} nodes, warm[/]")
            warm = _warm(n)
            ur = _update_rollback(inventory)
            # The same ready-made pass varies by seconds from one minute to the next: the median of several.
            passes = []
            for i in range(ready_passes):
                _down()
                console.print(f"[bold]{n} nodes, ready-made ({i + 1}/{ready_passes})[/]")
                passes.append(_walkthrough(n, "container", ready=True))
            totals = [round(sum(p["seconds"] for p in ready.values()), 2) for ready in passes]
            ready = passes[sorted(range(len(passes)), key=totals.__getitem__)[len(passes) // 2]]
            runs[str(n)] = {
                "ready": ready,
                "ready_total": round(sum(p["seconds"] for p in ready.values()), 2),
                "ready_totals": totals,
                "cold": cold,
                "warm": warm,
                "cold_total": round(sum(p["seconds"] for p in cold.values()), 2),
                "warm_total": round(sum(p["seconds"] for p in warm.values()), 2),
                "warm_changed": sum(p.get("changed", 0) for p in warm.values()),
                "update_rollback": ur,
            }
            _down()
    data: dict[str, Any] = {"machine": _machine(), "runs": runs, "targets": [], "notes": []}
    if baseline:
        # Every node count: how the plain commands themselves grow on this machine is the yardstick for scaling.
        data["baselines"] = {}
        for n in counts:
            console.print(f"[bold]shell baseline, {n} nodes[/]")
            out = subprocess.run([str(ROOT / "bench/baseline.sh"), str(n)], capture_output=True, text=True, check=False)
            if out.returncode != 0:
                raise SystemExit(f"bench: baseline.sh failed: {out.stderr.strip()[-500:]}")
            data["baselines"][str(n)] = json.loads(out.stdout.strip().splitlines()[-1])
        # The ready-made lab's own floor: the same commands on nodes from the same ready-made image.
        data["ready_baselines"] = {}
        for n in counts:
            console.print(f"[bold]ready-made shell baseline, {n} nodes[/]")
            out = subprocess.run([str(ROOT / "bench/baseline.sh"), str(n), "ready"], capture_output=True, text=True, check=False)
            if out.returncode != 0:
                raise SystemExit(f"bench: baseline.sh {n} ready failed: {out.stderr.strip()[-500:]}")
            data["ready_baselines"][str(n)] = json.loads(out.stdout.strip().splitlines()[-1])
        data["baseline"] = data["baselines"].get("3")
    three = runs.get("3")
    targets = data["targets"]
    if three and data.get("baseline"):
        b = data["baseline"]
        cold = three["cold"]
        bc = b["cpu"]
        rows = [
            ("nodes", cold["nodes"], b["nodes"], bc["nodes"]),
            ("engines", cold["engines"], b["engines"], bc["engines"]),
            ("swarm", cold["swarm"], b["swarm"], bc["swarm"]),
            ("services (with image loading)", cold["services"], round(b["images"] + b["services"], 2), round(bc["images"] + bc["services"], 2)),
            ("checks", cold["checks"], b["checks"], bc["checks"]),
        ]
        table = [{"phase": p, "swarmlab": s["seconds"], "baseline": bs, "ratio": _ratio(s["seconds"], bs),
                  "swarmlab_cpu": s["cpu"], "baseline_cpu": bcpu} for p, s, bs, bcpu in rows]
        table.append({"phase": "total", **{k: round(sum(r[k] for r in table), 2) for k in ("swarmlab", "baseline", "swarmlab_cpu", "baseline_cpu")}})
        table[-1]["ratio"] = _ratio(table[-1]["swarmlab"], table[-1]["baseline"])
        data["phases_vs_baseline"] = table
        targets += _cold_targets("3", three, b)
    if three:
        ur = three["update_rollback"]
        ur_ratio = _ratio(ur["update"] + ur["rollback"], ur["raw_update"] + ur["raw_rollback"])
        targets.append({"name": "update + rollback / the same commands typed on the manager", "measured": f"{ur_ratio}x", "goal": "≤ 1.2x",
                        "met": ur_ratio <= 1.2})
        targets.append({"name": "warm 3 nodes", "measured": f"{three['warm_total']} s (changed {three['warm_changed']})", "goal": "≤ 10 s, changed 0",
                        "met": three["warm_total"] <= 10 and three["warm_changed"] == 0})
        if ready := _ready_target("3", three, data.get("ready_baselines", {}).get("3")):
            targets.append({**ready, "measured": f"{ready['measured']}; {_ready_measured(three)}"})
    nine = runs.get("9")
    b9 = data.get("baselines", {}).get("9")
    if nine and b9:
        targets += _cold_targets("9", nine, b9)
    if nine and (ready := _ready_target("9", nine, data.get("ready_baselines", {}).get("9"))):
        targets.append(ready)
    if nine:
        targets.append({"name": "warm 9 nodes", "measured": f"{nine['warm_total']} s (changed {nine['warm_changed']})", "goal": "≤ 15 s, changed 0",
                        "met": nine["warm_total"] <= 15 and nine["warm_changed"] == 0})
    targets.append(_suite())
    data["suite"] = _suite_detail()
    notes_file = RESULTS / "notes.yml"
    if notes_file.exists():
        data["notes"] = yaml.safe_load(notes_file.read_text()) or []
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "latest.json").write_text(json.dumps(data, indent=2) + "\n")
    (RESULTS / "latest.md").write_text(_markdown(data))
    table = Table("target", "measured", "goal", "met")
    for t in targets:
        table.add_row(t["name"], t["measured"], t["goal"], "[green]yes[/]" if t["met"] else "[red]no[/]")
    console.print(table)
    console.print(f"results: {RESULTS / 'latest.md'}")


def _vm(counts: list[int]) -> None:
    """On qemu VMs, with the accelerator the driver chose: cold, the warm path, update + rollback, and the
    ready-made VM image's pass; no shell baseline."""
    _timed("lab/images", None, {"lab_images_vm": True})
    runs: dict[str, Any] = {}
    with lab.using(LAB):
        for n in counts:
            _down()
            console.print(f"[bold]{n} VMs, cold[/]")
            cold = _walkthrough(n, "vm")
            accel = _accelerator()
            console.print(f"[bold]{n} VMs, warm[/]")
            warm = _warm(n, "vm")
            ur = _update_rollback(paths.lab_inventory(LAB))
            _down()
            console.print(f"[bold]{n} VMs, ready-made[/]")
            ready = _walkthrough(n, "vm", ready=True)
            runs[str(n)] = {
                "accelerator": accel,
                "cold": cold,
                "ready": ready,
                "warm": warm,
                "cold_total": round(sum(p["seconds"] for p in cold.values()), 2),
                "ready_total": round(sum(p["seconds"] for p in ready.values()), 2),
                "warm_total": round(sum(p["seconds"] for p in warm.values()), 2),
                "warm_changed": sum(p.get("changed", 0) for p in warm.values()),
                "update_rollback": ur,
            }
            _down()
    data = {"machine": _machine(), "driver": "vm", "runs": runs}
    lines = ["# swarmlab benchmark — qemu VMs (`bench/run.py --driver vm`)", "",
             f"Machine: {data['machine']['cpus']} CPUs ({data['machine']['cpu']}), {data['machine']['memory_gib']} GiB; "
             f"commit {data['machine']['commit']}, {data['machine']['date']}.", "",
             "| VMs | accelerator | pass | total s | cpu s | changed | " + " | ".join(PHASES) + " |",
             "| --- | --- | --- | --- | --- | --- | " + " | ".join("---" for _ in PHASES) + " |"]
    for n, run in runs.items():
        for kind in ("cold", "ready"):
            changed = sum(p["changed"] for p in run[kind].values())
            cpu = round(sum(p.get("cpu", 0) for p in run[kind].values()), 1)
            lines.append(f"| {n} | {run['accelerator']} | {kind} | {run[f'{kind}_total']} | {cpu} | {changed} | "
                         + " | ".join(str(run[kind][p]["seconds"]) for p in PHASES) + " |")
    lines += ["", "| VMs | warm: read s | checks s | total s | changed | update s (raw) | rollback s (raw) |",
              "| --- | --- | --- | --- | --- | --- | --- |"]
    for n, run in runs.items():
        w, ur = run["warm"], run["update_rollback"]
        lines.append(f"| {n} | {w['read']['seconds']} | {w['checks']['seconds']} | {run['warm_total']} | {run['warm_changed']} | "
                     f"{ur['update']} ({ur['raw_update']}) | {ur['rollback']} ({ur['raw_rollback']}) |")
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "vm.json").write_text(json.dumps(data, indent=2) + "\n")
    (RESULTS / "vm.md").write_text("\n".join(lines) + "\n")
    console.print("\n".join(lines))


if __name__ == "__main__":
    typer.run(main)
