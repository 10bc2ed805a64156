"""`swarmlab lab context`: this host's docker CLI pointed at a lab's manager over SSH, as `kind export kubeconfig`
points kubectl at a kind cluster. Docker's SSH helper runs `ssh HOST docker system dial-stdio` and takes no SSH
options, so the lab's key and known hosts reach it through an SSH config of the lab's own (its state directory's
ssh_config), which ~/.ssh/config includes with one line, added once for every lab."""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from swarmlab import lab, paths

SSH_CONFIG = "ssh_config"


@dataclass(frozen=True)
class Context:
    name: str
    host: str
    node: str
    ip: str
    engine: str
    included: bool  # this run added the Include line to ~/.ssh/config


def name_for(lab_name: str) -> str:
    return "swarmlab" if lab_name == lab.DEFAULT_LAB else f"swarmlab-{lab_name}"


def include_line() -> str:
    # An absolute path: ssh expands ~ from the password database, not from $HOME.
    return f'Include "{paths.lab_state(lab.DEFAULT_LAB).parent}/*/{SSH_CONFIG}"'


def _docker(*args: str) -> subprocess.CompletedProcess[str]:
    if not shutil.which("docker"):
        raise lab.LabError("this host has no docker CLI; install it (`swarmlab setup` does) to use a docker context")
    return subprocess.run(["docker", *args], capture_output=True, text=True, timeout=60)


def _include_in_ssh_config() -> bool:
    """Puts the Include line first in ~/.ssh/config (where it applies to every host), unless it is there."""
    ssh_dir = Path.home() / ".ssh"
    config = ssh_dir / "config"
    text = config.read_text() if config.exists() else ""
    if include_line() in text.splitlines():
        return False
    ssh_dir.mkdir(mode=0o700, exist_ok=True)
    config.write_text(f"# swarmlab's labs (swarmlab lab context)\n{include_line()}\n\n{text}")
    config.chmod(0o600)
    return True


def _write_ssh_config(node: lab.Node, alias: str) -> None:
    state = paths.lab_state(node.lab)
    path = state / SSH_CONFIG
    path.write_text(
        f"# The lab {node.lab!r} (swarmlab lab context); removed with the lab.\n"
        f"Host {alias}\n"
        f"  HostName {node.ip}\n"
        f"  User {lab.ssh_user(node)}\n"
        f'  IdentityFile "{state / "id_ed25519"}"\n'
        "  IdentitiesOnly yes\n"
        f'  UserKnownHostsFile "{state / "known_hosts"}"\n'
        "  StrictHostKeyChecking yes\n"
        "  BatchMode yes\n"
    )
    os.chmod(path, 0o600)


def export() -> Context:
    """Creates or updates the lab's docker context on its first running manager that answers as one."""
    lab_name = lab.current()
    name = name_for(lab_name)
    managers = sorted((n for n in lab.nodes(lab_name) if n.role == "manager" and n.state == "running" and n.ip), key=lambda n: n.name)
    flag = "" if lab_name == lab.DEFAULT_LAB else f" --lab {lab_name}"
    if not managers:
        raise lab.LabError(f"the lab {lab_name!r} has no running manager; make it with `swarmlab up{flag}`")
    if not (paths.lab_state(lab_name) / "known_hosts").exists():
        raise lab.LabError(f"the lab {lab_name!r} has no SSH access recorded yet; run `swarmlab lab up{flag}`")
    included = _include_in_ssh_config()
    reasons = []
    for node in managers:
        alias = f"{name}-{node.name}"
        _write_ssh_config(node, alias)
        host = f"ssh://{alias}"
        exists = _docker("context", "inspect", name).returncode == 0
        made = _docker("context", "update" if exists else "create", name, "--description", f"swarmlab lab {lab_name}", "--docker", f"host={host}")
        if made.returncode != 0:
            raise lab.LabError(f"docker context {name}: {made.stderr.strip()}")
        info = _docker("--context", name, "info", "--format", "{{.ServerVersion}} {{.Swarm.ControlAvailable}}")
        version, _, control = info.stdout.strip().partition(" ")
        if info.returncode == 0 and control == "true":
            return Context(name, host, node.name, node.ip, version, included)
        reasons.append(f"{node.name}: " + (info.stderr.strip().splitlines() or ["not a swarm manager (run `swarmlab up`)"])[-1])
    raise lab.LabError(f"docker context {name} reaches no manager over SSH: {'; '.join(reasons)}")


def forget(lab_name: str) -> None:
    """Removes the lab's docker context (with the lab), the default context again if it was the current one."""
    name = name_for(lab_name)
    if shutil.which("docker") and _docker("context", "inspect", name).returncode == 0:
        if _docker("context", "show").stdout.strip() == name:
            _docker("context", "use", "default")
        _docker("context", "rm", "--force", name)
