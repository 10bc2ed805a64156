"""`swarmlab up`'s warm path: a lab that still matches its last checked run is only checked again.

After an `up` whose checks pass, the lab records hashes (never the text) of its inputs (lab settings, exercise,
roles, playbooks, inventory) and of what the roles manage, read in one call per node: packages, apt, engine and
SSH files, services, swarm membership, images, and on managers the swarm's nodes, services and networks. The
next `up` reads the same again; when all of it matches, the playbooks would change nothing, so only the checks
run. Any difference, an unreadable node or a failed check means every playbook runs, as on the first `up`.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from docker.errors import NotFound

from swarmlab import access, api, lab, paths

# What the roles manage on a node, as text: any change to it changes the hash. Task states and timestamps are
# left out: they move while nothing the roles manage does.
STATE_SCRIPT = r"""
export LC_ALL=C
hostname
sha256sum /etc/docker/daemon.json /etc/apt/sources.list /etc/apt/sources.list.d/* /etc/apt/keyrings/* \
  /etc/apt/apt.conf.d/* /etc/systemd/system/docker.service.d/* /lib/systemd/system/docker.service \
  /etc/sudoers.d/* /etc/ssh/sshd_config /etc/ssh/sshd_config.d/* /etc/ssh/ssh_host_*_key.pub \
  /root/.ssh/authorized_keys /home/*/.ssh/authorized_keys 2>/dev/null
dpkg-query -W -f '${Package} ${Version} ${db:Status-Abbrev}\n'
apt-mark showhold
getent group docker
systemctl is-enabled docker ssh 2>&1; systemctl is-active docker ssh 2>&1
command -v ufw >/dev/null && ufw status verbose
docker info --format '{{.ServerVersion}} {{.Swarm.NodeID}} {{.Swarm.NodeAddr}} {{.Swarm.LocalNodeState}}
  {{.Swarm.ControlAvailable}} {{.Swarm.Error}} {{.Swarm.Nodes}} {{.Swarm.Managers}} {{with .Swarm.Cluster}}{{.ID}}{{end}}'
docker image ls --no-trunc --format '{{.ID}} {{.Repository}}:{{.Tag}}' | sort
if [ "$(docker info --format '{{.Swarm.ControlAvailable}}')" = true ]; then
  docker node ls --format '{{.ID}} {{.Hostname}} {{.Status}} {{.Availability}} {{.ManagerStatus}}' | sort
  docker node inspect --format '{{.ID}} {{json .Spec}}' $(docker node ls -q) | sort
  services=$(docker service ls -q)
  [ -z "$services" ] || docker service inspect --format '{{.ID}} {{json .Spec}}' $services | sort
  docker network ls --filter scope=swarm --no-trunc --format '{{.ID}} {{.Name}}' | sort
fi
exit 0
"""
RECORD = "warm.json"
# The project's files whose change would make a playbook do something else.
SOURCES = ("roles", "plugins", "playbooks", "ansible.cfg", "src/swarmlab/warm.py")


@dataclass(frozen=True)
class Reading:
    """What the lab looks like now, as hashes; `error` when some of it could not be read."""

    inputs: str
    lab: str
    nodes: dict[str, str]
    error: str = ""


def _sha(*parts: bytes) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(len(part).to_bytes(8, "big"))
        h.update(part)
    return h.hexdigest()


def _files(*roots: Path) -> list[Path]:
    out = []
    for root in roots:
        if root.is_file():
            out.append(root)
        elif root.is_dir():
            out += [p for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts]
    return sorted(out)


def inputs_of(lab_vars: dict[str, Any], exercise_vars: dict[str, Any], inventory: Path) -> str:
    parts = [json.dumps([lab_vars, exercise_vars], sort_keys=True, default=str).encode()]
    for f in _files(*(paths.ROOT / s for s in SOURCES), *inventory.parent.glob("*.yml")):
        parts += [str(f.relative_to(paths.ROOT) if f.is_relative_to(paths.ROOT) else f).encode(), f.read_bytes()]
    return _sha(*parts)


def _lab_of(lab_name: str) -> str:
    """The lab's containers and VMs as this host sees them, and the access keys it keeps."""
    client = lab.engine()
    rows = []
    for c in client.containers.list(all=True, filters={"label": f"{lab.LAB_LABEL}={lab_name}"}):
        try:
            tagged = client.images.get(c.attrs["Config"]["Image"]).id  # a rebuilt image means new nodes
        except NotFound:  # the tag is gone: nothing to match
            tagged = ""
        rows.append([c.name, c.id, c.attrs["Image"], tagged, c.status])
    state = paths.lab_state(lab_name)
    for n in lab.vms(lab_name):
        rows.append([n.name, (state / "vms" / n.name / "vm.json").read_text(), n.state])
    keys = [f.read_bytes() for f in _files(state / "id_ed25519.pub", state / "known_hosts")]
    return _sha(json.dumps(sorted(rows)).encode(), *keys)


def _node(host: str, hostvars: dict[str, Any]) -> tuple[str, str, str]:
    argv = access.access_of(host, hostvars, "sh -s").argv
    try:
        out = subprocess.run(argv, input=STATE_SCRIPT, capture_output=True, text=True, timeout=60, check=False)
    except subprocess.TimeoutExpired:
        return host, "", "no answer in 60 s"
    if out.returncode != 0:
        return host, "", (out.stderr.strip().splitlines() or [f"exit {out.returncode}"])[-1]
    return host, _sha(out.stdout.encode()), ""


def read(lab_name: str, inventory: Path, lab_vars: dict[str, Any], exercise_vars: dict[str, Any]) -> Reading:
    """Every node in parallel, one call each."""
    hosts = api.hosts_of(inventory)
    with ThreadPoolExecutor(max_workers=max(1, min(16, len(hosts)))) as pool:
        answers = list(pool.map(lambda h: _node(*h), hosts.items()))
    errors = [f"{host}: {error}" for host, _, error in answers if error]
    return Reading(
        inputs=inputs_of(lab_vars, exercise_vars, inventory),
        lab=_lab_of(lab_name),
        nodes={host: digest for host, digest, _ in answers},
        error="; ".join(errors),
    )


def remember(lab_name: str, inventory: Path, lab_vars: dict[str, Any], exercise_vars: dict[str, Any]) -> Reading:
    """Records the lab as it is now; called once its checks passed. A node that cannot be read records nothing."""
    reading = read(lab_name, inventory, lab_vars, exercise_vars)
    forget(lab_name)
    if not reading.error:
        path = paths.lab_state(lab_name) / RECORD
        path.parent.mkdir(parents=True, exist_ok=True)
        data = {"inputs": reading.inputs, "lab": reading.lab, "nodes": reading.nodes, "checked": datetime.now(UTC).isoformat()}
        path.write_text(json.dumps(data, indent=2) + "\n")
    return reading


def forget(lab_name: str) -> None:
    (paths.lab_state(lab_name) / RECORD).unlink(missing_ok=True)


def difference(lab_name: str, inventory: Path, lab_vars: dict[str, Any], exercise_vars: dict[str, Any]) -> tuple[str, float]:
    """Why the lab does not match its last checked run ("" when it does), and the seconds it took to tell."""
    start = time.monotonic()
    try:
        last = json.loads((paths.lab_state(lab_name) / RECORD).read_text())
    except (OSError, ValueError):
        return "no checked run of this lab is recorded", time.monotonic() - start
    if not inventory.exists():
        return f"the lab's inventory {inventory} is gone", time.monotonic() - start
    try:
        reading = read(lab_name, inventory, lab_vars, exercise_vars)
    except lab.LabError as exc:  # e.g. an inventory Ansible cannot read: the full run rewrites it
        return str(exc), time.monotonic() - start
    return _why(last, reading), time.monotonic() - start


def _why(last: dict[str, Any], reading: Reading) -> str:
    if reading.error:
        return f"cannot read every node ({reading.error})"
    if last.get("inputs") != reading.inputs:
        return "the lab's settings, exercise, roles, playbooks or inventory changed since its last checked run"
    if last.get("lab") != reading.lab:
        return "the lab's containers, VMs or keys changed since its last checked run"
    nodes = last.get("nodes", {})
    if set(nodes) != set(reading.nodes):
        return "the lab's nodes are not those of its last checked run"
    changed = sorted(h for h, digest in reading.nodes.items() if nodes[h] != digest)
    if changed:
        return f"{', '.join(changed)} changed since the last checked run"
    return ""
