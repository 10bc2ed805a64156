"""ansible-runner in, typed results out (the shape of ansible-runner's own Runner)."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shlex
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ansible_runner

from swarmlab import inventory as inventories
from swarmlab import paths
from swarmlab.lab import LabError

STAT_KEYS = ("ok", "changed", "failures", "dark", "skipped", "rescued", "ignored")


@dataclass(frozen=True)
class HostStats:
    ok: int = 0
    changed: int = 0
    failed: int = 0
    unreachable: int = 0
    skipped: int = 0
    rescued: int = 0
    ignored: int = 0


@dataclass(frozen=True)
class TaskFailure:
    host: str
    task: str
    message: str
    unreachable: bool = False

    def __str__(self) -> str:
        what = "unreachable" if self.unreachable else "failed"
        return f"{self.host}: {what} at task '{self.task}': {self.message}"


@dataclass(frozen=True)
class RunResult:
    playbook: str
    status: str
    rc: int
    stats: dict[str, HostStats] = field(default_factory=dict)
    failures: list[TaskFailure] = field(default_factory=list)
    duration: float = 0.0
    error: str = ""  # Ansible's own error when it stopped before any task (syntax, inventory)
    facts: dict[str, dict[str, Any]] = field(default_factory=dict)  # set_fact results per host (reports)
    changes: list[tuple[str, str]] = field(default_factory=list)  # (host, task) of every change, in order
    # What the roles warn of (debug messages that start "WARNING: "), once each, in order.
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.status == "successful" and self.rc == 0

    @property
    def changed(self) -> int:
        return sum(s.changed for s in self.stats.values())


class PlaybookError(RuntimeError):
    """A playbook run that did not succeed; str() names the task, host and message."""

    def __init__(self, result: RunResult):
        self.result = result
        if result.failures:
            detail = "; ".join(str(f) for f in result.failures)
        elif result.error:
            detail = result.error
        else:
            detail = f"ansible-playbook ended with status {result.status} (rc {result.rc})"
        super().__init__(f"{Path(result.playbook).name}: {detail}")


def _message(res: Mapping[str, Any], unreachable: bool = False, host: str = "?") -> str:
    if res.get("censored") and unreachable:
        # no_log hides the reason, which is not a secret: say what is known and how to find out.
        return (
            "became unreachable during a task whose output is hidden (it handles secrets); "
            f"check that it is up and reachable: ansible -i INVENTORY -m ping {host}"
        )
    if res.get("censored"):
        return str(res["censored"])
    # A loop's own msg is only "One or more items failed": the failed items say what.
    items = [_message(r) for r in res.get("results") or [] if isinstance(r, dict) and r.get("failed")]
    msg = "; ".join(items) if items else res.get("msg") or res.get("stderr") or res.get("reason") or ""
    if msg == "non-zero return code":
        # A failed command (command, raw) says why in its own output, not in Ansible's msg.
        said = str(res.get("stderr") or res.get("stdout") or "").strip()
        msg = said[-1000:] if said else f"{msg} {res.get('rc', '?')}"
    return " ".join(str(msg).split())


def _error(output: str) -> str:
    """Ansible's own error message (the lines after "ERROR", up to its source excerpt)."""
    lines = re.sub(r"\x1b\[[0-9;]*m", "", output).splitlines()
    for i, line in enumerate(lines):
        if line.startswith(("[ERROR]:", "ERROR!")):
            msg = [line.split(":", 1)[1] if line.startswith("[ERROR]:") else line[len("ERROR!"):]]
            for more in lines[i + 1 :]:
                if not more.strip() or more.startswith("Origin:"):
                    break
                msg.append(more)
            return " ".join(" ".join(msg).split())
    return ""


def _stats(final: Mapping[str, Any]) -> dict[str, HostStats]:
    hosts: set[str] = set()
    for key in STAT_KEYS:
        hosts.update((final.get(key) or {}).keys())
    return {
        h: HostStats(
            ok=final.get("ok", {}).get(h, 0),
            changed=final.get("changed", {}).get(h, 0),
            failed=(final.get("failures") or {}).get(h, 0),
            unreachable=(final.get("dark") or {}).get(h, 0),
            skipped=(final.get("skipped") or {}).get(h, 0),
            rescued=(final.get("rescued") or {}).get(h, 0),
            ignored=(final.get("ignored") or {}).get(h, 0),
        )
        for h in sorted(hosts)
    }


@dataclass(frozen=True)
class AnsibleOptions:
    """Ansible's own options for every playbook a command runs, as ansible-playbook takes them."""

    extra_vars: tuple[str, ...] = ()  # each as -e takes it: key=value, JSON or YAML, or @file
    tags: str = ""
    skip_tags: str = ""
    vault_ids: tuple[str, ...] = ()  # [label@]source, as --vault-id takes it
    vault_password_files: tuple[str, ...] = ()
    diff: bool = False

    def args(self) -> list[str]:
        out = [a for value in self.extra_vars for a in ("-e", value)]
        out += ["--tags", self.tags] if self.tags else []
        out += ["--skip-tags", self.skip_tags] if self.skip_tags else []
        out += [a for value in self.vault_ids for a in ("--vault-id", value)]
        # Absolute: ansible-playbook runs in another directory.
        out += [a for value in self.vault_password_files for a in ("--vault-password-file", str(Path(value).absolute()))]
        return out + (["--diff"] if self.diff else [])


_OPTIONS: ContextVar[AnsibleOptions] = ContextVar("swarmlab_ansible_options", default=AnsibleOptions())


@contextlib.contextmanager
def ansible_options(options: AnsibleOptions) -> Iterator[None]:
    """Every run_playbook within passes these to ansible-playbook (the CLI sets them once per command)."""
    token = _OPTIONS.set(options)
    try:
        yield
    finally:
        _OPTIONS.reset(token)


def current_ansible_options() -> AnsibleOptions:
    return _OPTIONS.get()


# The collection in this checkout first, then Ansible's default places (community.docker and the others come from
# the `ansible` package's own directory, which Ansible always searches).
COLLECTIONS_PATH = os.pathsep.join([str(paths.COLLECTIONS), "~/.ansible/collections", "/usr/share/ansible/collections"])


def _env(own_config: bool = True) -> dict[str, str]:
    """own_config: this project's ansible.cfg (the lab's settings); else the user's, found as Ansible finds it."""
    bindir = str(Path(sys.executable).parent)
    env = {
        "ANSIBLE_ROLES_PATH": str(paths.ROOT / "roles"),
        "ANSIBLE_COLLECTIONS_PATH": COLLECTIONS_PATH,
        "PATH": bindir + os.pathsep + os.environ.get("PATH", ""),
        "ANSIBLE_NOCOLOR": "1",
    }
    if own_config:
        env["ANSIBLE_CONFIG"] = str(paths.ANSIBLE_CFG)
    elif "ANSIBLE_CONFIG" not in os.environ and (Path.cwd() / "ansible.cfg").is_file():
        # ansible-playbook runs in another directory: the one this command was started in names the user's.
        env["ANSIBLE_CONFIG"] = str(Path.cwd() / "ansible.cfg")
    return env


# Every host in its own fork (Ansible's default is 5): a task takes as long as its slowest host.
FORKS_MIN, FORKS_MAX = 5, 64


def _inventory_read(inventory: str | Path | None) -> inventories.Inventory | None:
    try:
        return inventories.read(inventory) if inventory else None
    except LabError:  # an unreadable inventory is reported by the run itself
        return None


def forks_for(hosts: int | None = None, inventory: str | Path | None = None) -> int | None:
    """Forks for a run: one per host (given, or counted in the inventory), within FORKS_MIN..FORKS_MAX.

    None when neither is known: ansible.cfg's forks apply.
    """
    if hosts is None and (read := _inventory_read(inventory)):
        hosts = len(read.groups.get("all", ()))
    return None if hosts is None else max(FORKS_MIN, min(FORKS_MAX, hosts))


# How Ansible's output line for a changed result begins (colour codes, if any, first).
_CHANGED_LINE = re.compile(r"^(?:\x1b\[[0-9;]*m)*changed: \[", re.M)


def changed_in(event: Mapping[str, Any]) -> bool:
    """Whether a runner_on_ok event reports a change. A no_log result (a swarm join) arrives censored, without
    `changed`: the line Ansible printed for it still says."""
    res = event.get("event_data", {}).get("res", {})
    if res.get("censored"):
        return bool(_CHANGED_LINE.search(event.get("stdout", "")))
    return bool(res.get("changed"))


def run_playbook(
    playbook: str | Path,
    inventory: str | Path | None = None,
    extravars: Mapping[str, Any] | None = None,
    *,
    limit: str | None = None,
    hosts: int | None = None,
    check: bool = False,
    fatal: bool = False,
    verbose: bool = False,
    on_event: Callable[[dict[str, Any]], None] | None = None,
) -> RunResult:
    """Run one playbook and return what happened; never raises for a failed play.

    hosts: how many hosts the play reaches, where the inventory does not say (nodes a play adds itself).
    check: Ansible's check mode with diffs (--check --diff): report what would change, change nothing.
    fatal: a failure on any host ends the whole run (Ansible's any_errors_fatal), as when each step is a run of its own.
    """
    read = _inventory_read(inventory)
    book = Path(playbook) if Path(playbook).is_absolute() else paths.playbook(str(playbook), lab=bool(read and read.lab))
    failures: list[TaskFailure] = []
    final: dict[str, Any] = {}
    facts: dict[str, dict[str, Any]] = {}
    changes: list[tuple[str, str]] = []
    warnings: list[str] = []

    def warn(res: Mapping[str, Any]) -> None:
        msg = res.get("msg")
        if isinstance(msg, str) and msg.startswith("WARNING: "):
            text = " ".join(msg.removeprefix("WARNING: ").split())
            if text not in warnings:
                warnings.append(text)

    def handler(event: dict[str, Any]) -> bool:
        data = event.get("event_data", {})
        kind = event.get("event")
        if kind in ("runner_on_failed", "runner_on_unreachable") and not data.get("ignore_errors"):
            failures.append(
                TaskFailure(
                    host=data.get("host", "?"),
                    task=data.get("task", "?"),
                    message=_message(data.get("res", {}), unreachable=kind == "runner_on_unreachable", host=data.get("host", "?")),
                    unreachable=kind == "runner_on_unreachable",
                )
            )
        elif kind == "runner_on_ok":
            res = data.get("res", {})
            if changed_in(event):
                changes.append((data.get("host", "?"), data.get("task", "?")))
            warn(res)
            # no_log results arrive censored, without their facts.
            if isinstance(res.get("ansible_facts"), dict) and not res.get("censored"):
                facts.setdefault(data.get("host", "?"), {}).update(res["ansible_facts"])
        elif kind == "runner_item_on_ok":
            warn(data.get("res", {}))
        elif kind == "playbook_on_stats":
            final.update(data)
        if on_event:
            on_event(event)
        return True

    # A fleet's inventory runs under the user's own Ansible configuration; a lab's (or none: a run that makes one)
    # under this project's.
    env = _env(own_config=not read or read.lab) | ({"ANSIBLE_ANY_ERRORS_FATAL": "True"} if fatal else {})
    # A private directory per run, removed afterwards: no event or command line outlives the run.
    private = tempfile.mkdtemp(prefix="swarmlab-run-")
    started = time.monotonic()
    try:
        # ansible-runner reads env/extravars as a file (-e @file): a large spec never meets the command line's limit.
        (Path(private) / "env").mkdir(mode=0o700)
        vars_file = Path(private) / "env" / "extravars"
        vars_file.touch(mode=0o600)
        vars_file.write_text(json.dumps(dict(extravars or {})))
        r = ansible_runner.run(
            private_data_dir=private,
            playbook=str(book),
            # A list: each its own -i, even a file the run writes first (a string that names no file is taken as content).
            # Absolute: ansible-playbook runs in another directory, where a relative path names no file, and a play
            # over no hosts succeeds.
            inventory=[str(Path(inventory).absolute())] if inventory else None,
            limit=limit,
            cmdline=shlex.join((["--check", "--diff"] if check else []) + _OPTIONS.get().args()) or None,
            forks=forks_for(hosts, inventory),
            envvars=env,
            quiet=not verbose,
            suppress_env_files=True,
            event_handler=handler,
            settings={"suppress_ansible_output": not verbose},
        )
        status, rc = r.status, r.rc
        error = "" if status == "successful" else _error(r.stdout.read())
    finally:
        shutil.rmtree(private, ignore_errors=True)
    if not final and status == "successful":
        status = "failed"  # ansible-playbook ended without a stats event
    return RunResult(
        playbook=str(book),
        status=status,
        rc=rc,
        stats=_stats(final),
        failures=failures,
        duration=time.monotonic() - started,
        error=error,
        facts=facts,
        changes=changes,
        warnings=warnings,
    )
