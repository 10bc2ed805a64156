#!/usr/bin/python
# Copyright: swarmlab contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt), as Ansible modules are
"""Waits for a swarm service to converge, and ends as soon as Swarm decides it will not."""

from __future__ import annotations

DOCUMENTATION = r"""
module: swarm_service_wait
short_description: Wait until a swarm service converges, or fail with Swarm's own verdict
description:
  - Reads the service, its tasks and the nodes from the manager's engine five times a second, as the Docker CLI does.
  - Converged means every wanted replica runs the wanted image and no other task is meant to run or still stopping.
    While an update or rollback Swarm started after O(since) still runs, converged must also have held for the
    update's (or rollback's) monitor period, the point at which C(docker service update) without C(--detach) returns;
    Swarm itself reports the update over only after one more update delay.
  - Fails at once when Swarm paused the update or rollback, when an update ended in Swarm's rollback (the message
    names the tasks' errors and where the service stands), and when tasks keep being rejected for a reason retrying
    does not cure (no such image, no suitable node, a port in use) with no replica coming up for O(grace) seconds.
  - "Reads only: its result carries no swarm secret, so it needs no C(no_log)."
  - "Its result's RV(last) says which task came up last and when it reached each state (seconds from the start of the
    wait), for example C(worker5: assigned 0.0 s, starting 0.4 s, running 27.9 s): what a long wait waited for."
author:
  - swarmlab contributors (@swarmlab)
requirements:
  - Docker SDK for Python (C(python3-docker)) on the manager
attributes:
  check_mode:
    support: full
    description: In check mode nothing is waited for.
options:
  name:
    description: The service.
    type: str
    required: true
  image:
    description: Image every task must run; the service's own spec when unset.
    type: str
  replicas:
    description: Tasks that must run; the spec's replicas when unset (global services, a task on every node they may run on).
    type: int
  since:
    description:
      - "The service's C(UpdatedAt) before the change waited for: C(UpdateStatus) and task errors from before it are ignored."
      - "Unset when nothing was changed: then only the service's state is judged (a paused update fails, a rollback that
        completed earlier does not)."
    type: str
  operation:
    description: What was done, for the messages; after a rollback, Swarm's C(rollback_completed) is success.
    type: str
    choices: [deploy, update, scale, rollback]
    default: update
  timeout:
    description: Seconds to wait at most.
    type: int
    default: 180
  grace:
    description: Seconds tasks may keep failing for good with no replica coming up.
    type: int
    default: 10
"""

EXAMPLES = r"""
- name: Wait until WEB's three replicas run nginx 1.13.5, or fail with Swarm's verdict
  swarmlab.swarm.swarm_service_wait:
    name: WEB
    image: nginx:1.13.5
    replicas: 3
    since: "{{ web_before.service.UpdatedAt }}"
    operation: update
    timeout: 300
"""

RETURN = r"""
msg:
  description: "What Swarm decided, for example C(WEB: 3/3 running nginx:1.13.5), or why the wait failed."
  returned: always
  type: str
running:
  description: Tasks running the wanted image.
  returned: always
  type: int
replicas:
  description: Tasks wanted.
  returned: always
  type: int
image:
  description: The image waited for.
  returned: always
  type: str
update_state:
  description: Swarm's C(UpdateStatus.State), empty when no update or rollback is recorded.
  returned: always
  type: str
errors:
  description: The errors Swarm reported for the service's tasks since the change.
  returned: always
  type: str
last:
  description: The task that came up last, with the seconds at which it reached each state.
  returned: when the service converged or Swarm decided
  type: str
  sample: "worker5: assigned 0.0 s, starting 0.4 s, running 27.9 s"
"""

import re
import time
from collections import Counter
from datetime import datetime
from typing import Any

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.swarmlab.swarm.plugins.module_utils.swarm_model import image_name, tasks_wanted

try:
    import docker
except ImportError:  # reported by main()
    docker = None

# Task states before running: on a node that went down, the task stays in one of them.
NOT_STARTED = frozenset({"new", "allocated", "pending", "assigned", "accepted", "preparing", "ready", "starting"})
# Task states a task does not leave: Swarm replaces it with a new one.
ENDED = frozenset({"complete", "shutdown", "failed", "rejected", "orphaned", "remove"})
# Task errors that retrying on the same nodes does not cure.
PERMANENT = re.compile(
    r"no such image|no suitable node|already in use|already allocated|pull access denied|manifest unknown|bind source path does not exist"
    # A registry's refusals: a missing login or a wrong password, a certificate the node does not trust.
    r"|unauthorized|no basic auth credentials|x509:",
    re.I,
)


def stamp(value: str | None) -> datetime | None:
    """Docker's RFC 3339 times have nanoseconds; datetime takes microseconds."""
    if not value:
        return None
    m = re.match(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)$", value)
    if not m:
        return None
    frac = (m.group(2) or ".0")[:7]
    zone = "+00:00" if m.group(3) == "Z" else m.group(3)
    return datetime.fromisoformat(m.group(1) + frac + zone)


def image_of(spec: dict[str, Any]) -> str:
    return image_name(spec.get("ContainerSpec", {}).get("Image", ""))


def judge(
    service: dict[str, Any],
    tasks: list[dict[str, Any]],
    nodes: dict[str, str],
    *,
    image: str | None,
    replicas: int | None,
    since: str | None,
    operation: str,
    stalled: float,
    grace: float,
    steady: float = 0.0,
    down: frozenset[str] = frozenset(),
) -> dict[str, Any]:
    """One look at the service: done (converged), failed (Swarm decided), or neither (keep waiting).

    `steady`: seconds the looks before this one have been converged without a break. `down`: IDs of nodes that
    are not ready: their tasks keep the last state they reported (running) until Swarm orphans them a day later."""
    name = service["Spec"]["Name"]
    spec_image = image_of(service["Spec"].get("TaskTemplate", {}))
    mode = service["Spec"].get("Mode", {})
    active = [t for t in tasks if t.get("DesiredState") == "running"]
    want_image = image or spec_image
    want = replicas if replicas is not None else mode.get("Replicated", {}).get("Replicas", len(active))
    running = [t for t in active if t.get("Status", {}).get("State") == "running"]
    on_image = [t for t in running if image_of(t.get("Spec", {})) == want_image]

    after = stamp(since)
    status = service.get("UpdateStatus") or {}
    started = stamp(status.get("StartedAt"))
    state = status.get("State") if status and (after is None or (started is not None and started > after)) else None

    errors: dict[str, list[str]] = {}
    for t in tasks:
        err = t.get("Status", {}).get("Err")
        created = stamp(t.get("CreatedAt"))
        if err and (after is None or (created is not None and created > after)):
            where = nodes.get(t.get("NodeID", ""), "not scheduled")
            errors.setdefault(err, [])
            if where not in errors[err]:
                errors[err].append(where)
    told = "; ".join(f"{err} ({', '.join(sorted(where))})" for err, where in errors.items())
    counts = Counter(image_of(t.get("Spec", {})) for t in running)
    standing = ", ".join(f"{n} running {img}" for img, n in sorted(counts.items())) or "no task running"
    settling = state in ("updating", "rollback_started")
    # Tasks Swarm is still stopping (scaled away, replaced) count until they stopped: they may still answer.
    # Those on a node that is down do not: nothing there reports them stopped.
    stopping = [t for t in tasks if t.get("DesiredState") != "running" and t.get("Status", {}).get("State") == "running"
                and t.get("NodeID", "") not in down]
    converged = len(on_image) == want and len(active) == want and not stopping
    # Placed on a node that went down before they started: Swarm's update waits for them for good.
    held = sorted({nodes.get(t.get("NodeID", ""), t.get("NodeID", "")) for t in tasks
                   if t.get("NodeID", "") in down and t.get("Status", {}).get("State") in NOT_STARTED
                   and (after is None or (stamp(t.get("CreatedAt")) or after) > after)})  # this change's tasks only
    held_note = (f"Swarm's {'rollback' if state == 'rollback_started' else 'update'} waits for a task it placed on "
                 f"{', '.join(held)}, down before the task started: `docker service update --rollback {name}` ends it (back to the "
                 "previous spec); run the change again once the node is back.") if held and settling else ""
    look = {"running": len(on_image), "replicas": want, "image": want_image, "update_state": state or "", "errors": told,
            "converged": converged, "held": held_note}

    def failed(msg: str) -> dict[str, Any]:
        return {**look, "failed": True, "done": True, "msg": msg}

    if state in ("paused", "rollback_paused"):
        what = "rollback" if state == "rollback_paused" else operation
        reason = told or status.get("Message", "")
        hint = f" Run `docker service update --rollback {name}` to go back." if state == "paused" else ""
        return failed(f"{what} of {name} paused by Swarm: {reason}; now {standing} (of {want} wanted).{hint}")
    # Without a change to judge, a finished rollback is where the service stands, not a verdict.
    if operation != "rollback" and state == "rollback_completed" and after is not None:
        back = len([t for t in running if image_of(t.get("Spec", {})) == spec_image])
        want_back = mode.get("Replicated", {}).get("Replicas", len(active))
        return failed(f"{operation} of {name} failed: {told or status.get('Message', '')}; Swarm rolled back to {spec_image}, {back}/{want_back} running")
    config = service["Spec"].get("RollbackConfig" if state == "rollback_started" else "UpdateConfig") or {}
    monitor = (config.get("Monitor") or 5_000_000_000) / 1e9  # nanoseconds; 0 or unset is Swarm's default, 5 s
    if converged and (not settling or steady >= monitor):
        return {**look, "failed": False, "done": True, "msg": f"{name}: {want}/{want} running {want_image}"}
    permanent = [err for err in errors if PERMANENT.search(err)]
    if permanent and stalled >= grace and state != "rollback_started":
        return failed(f"{operation} of {name} failed: {told}; now {standing} (of {want} wanted {want_image})")
    return {**look, "failed": False, "done": False, "msg": ""}


def record(seen: dict[str, tuple[str, list[tuple[str, float]]]], tasks: list[dict[str, Any]], nodes: dict[str, str], at: float) -> None:
    """Adds each wanted task's state to its timeline when it changed since the last look."""
    for t in tasks:
        if t.get("DesiredState") != "running":
            continue
        state = t.get("Status", {}).get("State", "")
        # A task first seen pending has no node yet: the scheduler assigns one later, and it never changes after.
        states = seen.get(t.get("ID", ""), ("", []))[1]
        seen[t.get("ID", "")] = (nodes.get(t.get("NodeID", ""), "not scheduled"), states)
        if not states or states[-1][0] != state:
            states.append((state, round(at, 1)))


def last_up(seen: dict[str, tuple[str, list[tuple[str, float]]]]) -> str:
    """The timeline of the task that reached running last (the one a wait waited for); "" when none runs."""
    ran = [(states[-1][1], node, states) for node, states in seen.values() if states and states[-1][0] == "running"]
    if not ran:
        return ""
    node, states = max(ran, key=lambda r: r[0])[1:]
    return f"{node}: " + ", ".join(f"{state} {at} s" for state, at in states)


def not_up(seen: dict[str, tuple[str, list[tuple[str, float]]]]) -> str:
    """Where the wanted tasks that do not run stand, and since when, e.g. "worker5 preparing since 3.1 s"."""
    return ", ".join(sorted(f"{node} {states[-1][0]} since {states[-1][1]} s" for node, states in seen.values()
                            if states and states[-1][0] not in ("running", *ENDED)))


def main() -> None:
    module = AnsibleModule(
        argument_spec=dict(
            name=dict(type="str", required=True),
            image=dict(type="str"),
            replicas=dict(type="int"),
            since=dict(type="str"),
            operation=dict(type="str", choices=["deploy", "update", "scale", "rollback"], default="update"),
            timeout=dict(type="int", default=180),
            grace=dict(type="int", default=10),
        ),
        supports_check_mode=True,
    )
    p = module.params
    if docker is None:
        module.fail_json(msg="the Docker SDK for Python is missing on this node (python3-docker)")
    if module.check_mode:
        module.exit_json(changed=False, msg="check mode: nothing to wait for")
    client = docker.APIClient(base_url="unix://var/run/docker.sock", version="auto")
    start = time.monotonic()
    best, rose = -1, start
    converged_at: float | None = None
    look: dict[str, Any] = {}
    seen: dict[str, tuple[str, list[tuple[str, float]]]] = {}
    while True:
        try:
            service = client.inspect_service(p["name"])
            tasks = client.tasks(filters={"service": p["name"]})
            listed = client.nodes()
        except docker.errors.NotFound:
            module.fail_json(msg=f"no service {p['name']} in this swarm")
        except docker.errors.APIError as exc:
            module.fail_json(msg=f"cannot read {p['name']} from this manager: {exc.explanation or exc}")
        nodes = {n["ID"]: n["Description"]["Hostname"] for n in listed}
        down = frozenset(n["ID"] for n in listed if n.get("Status", {}).get("State") != "ready")
        now = time.monotonic()
        record(seen, tasks, nodes, now - start)
        look = judge(
            service, tasks, nodes,
            image=p["image"], since=p["since"],
            # A global service: one task on each node that takes tasks and that its placement allows.
            replicas=p["replicas"] if p["replicas"] is not None else tasks_wanted(service, listed), operation=p["operation"],
            stalled=now - rose, grace=p["grace"], steady=now - converged_at if converged_at is not None else 0.0, down=down,
        )  # fmt: skip
        converged_at = (now if converged_at is None else converged_at) if look["converged"] else None
        if look["running"] > best:
            best, rose = look["running"], now
        if look["done"]:
            result = {k: v for k, v in look.items() if k not in ("done", "failed", "converged", "held")}
            result["last"] = last_up(seen)
            if look["failed"]:
                module.fail_json(**result)
            module.exit_json(changed=False, **result)
        if now - start >= p["timeout"]:
            break
        time.sleep(0.2)
    waiting = not_up(seen)
    module.fail_json(
        msg=(
            f"{p['name']} did not converge within {p['timeout']} s: {look['running']} of {look['replicas']} replicas running "
            f"{look['image']}{' (Swarm: ' + look['update_state'] + ')' if look['update_state'] else ''}. "
            f"{look['held'] or look['errors'] or 'No task reported an error.'}"
            f"{' Not running: ' + waiting + '.' if waiting else ''}"
        ),
        **{k: v for k, v in look.items() if k not in ("done", "failed", "converged", "msg", "held")},
    )


if __name__ == "__main__":
    main()
