"""What a test reads from a lab's runs and node containers."""

import docker


def hosts_of(events, kind, task):
    """The hosts with an event of this kind (e.g. runner_on_ok) for the task named so, in ansible-runner's events."""
    return {e["event_data"]["host"] for e in events if e["event"] == kind and e["event_data"].get("task") == task}


def engine_start(container):
    """When the node's engine last started (the host's monotonic clock, shared by the node containers), in seconds."""
    rc, out = docker.from_env().containers.get(container).exec_run(
        ["systemctl", "show", "docker.service", "--property=ExecMainStartTimestampMonotonic", "--value"])
    assert rc == 0, out
    return int(out) / 1e6


def sh(lab, node, cmd):
    """A shell command in the lab's node container: (exit code, output)."""
    rc, out = docker.from_env().containers.get(f"{lab}-{node}").exec_run(["sh", "-c", cmd])
    return rc, out.decode()
