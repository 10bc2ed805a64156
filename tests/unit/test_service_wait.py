"""swarm_service_wait's verdict on one look at a service, from Docker API objects as the Engine returns them."""

import pytest

from tests.conftest import load_plugin


@pytest.fixture(scope="module")
def wait(root):
    return load_plugin(root / "plugins/modules/swarm_service_wait.py", "swarm_service_wait")


BEFORE = "2026-11-28T02:00:00.123456789Z"
AFTER = "2026-11-28T02:00:05.5Z"
NODES = {"n1": "manager1", "n2": "worker1"}


def service(image="httpd:2.4", replicas=2, update=None):
    out = {"Spec": {"Name": "WEB", "Mode": {"Replicated": {"Replicas": replicas}}, "TaskTemplate": {"ContainerSpec": {"Image": image}}}}
    if update:
        out["UpdateStatus"] = update
    return out


def task(image, state="running", desired="running", node="n1", err=None, created=AFTER):
    status = {"State": state, **({"Err": err} if err else {})}
    return {"DesiredState": desired, "NodeID": node, "CreatedAt": created, "Status": status, "Spec": {"ContainerSpec": {"Image": image + "@sha256:ab"}}}


def judge(wait, svc, tasks, since=BEFORE, stalled=0.0, steady=0.0, down=frozenset(), **kw):
    return wait.judge(svc, tasks, NODES, image=kw.get("image"), replicas=kw.get("replicas"), since=since,
                      operation=kw.get("operation", "update"), stalled=stalled, grace=10, steady=steady, down=down)


def test_converged_when_every_replica_runs_the_image_and_nothing_else_runs(wait):
    look = judge(wait, service(), [task("httpd:2.4"), task("httpd:2.4", node="n2")])
    assert look["done"] and not look["failed"] and look["msg"] == "WEB: 2/2 running httpd:2.4"
    stopping = task("httpd:2.4", desired="shutdown")
    assert not judge(wait, service(), [task("httpd:2.4"), task("httpd:2.4", node="n2"), stopping])["done"]


def test_a_task_on_a_node_that_is_down_is_not_waited_for_to_stop(wait):
    """A node that went down keeps its tasks' last state (running) while Swarm runs their replacements elsewhere."""
    lost = task("httpd:2.4", desired="shutdown", node="n3")
    running = [task("httpd:2.4"), task("httpd:2.4", node="n2")]
    assert not judge(wait, service(), [*running, lost])["done"]
    look = judge(wait, service(), [*running, lost], down=frozenset({"n3"}))
    assert look["done"] and not look["failed"], look


def test_an_update_swarm_still_runs_is_done_once_converged_for_its_monitor_period(wait):
    updating = {"State": "updating", "StartedAt": AFTER}
    tasks = [task("httpd:2.4"), task("httpd:2.4", node="n2")]
    svc = service(update=updating)
    assert not judge(wait, svc, tasks)["done"]
    # Swarm's default monitor is 5 s; the CLI's `docker service update` returns once converged held that long.
    assert not judge(wait, svc, tasks, steady=4.8)["done"]
    look = judge(wait, svc, tasks, steady=5.0)
    assert look["done"] and not look["failed"]
    svc["Spec"]["UpdateConfig"] = {"Monitor": 2_000_000_000}
    assert judge(wait, svc, tasks, steady=2.1)["done"]
    svc["Spec"]["UpdateConfig"] = {"Monitor": 0}  # Swarm's default, 5 s
    assert not judge(wait, svc, tasks, steady=2.1)["done"]
    # A rollback Swarm runs is judged by the rollback's own monitor.
    rolling = service(update={"State": "rollback_started", "StartedAt": AFTER})
    rolling["Spec"]["RollbackConfig"] = {"Monitor": 10_000_000_000}
    assert not judge(wait, rolling, tasks, steady=5.0, operation="rollback")["done"]
    assert judge(wait, rolling, tasks, steady=10.0, operation="rollback")["done"]
    # Not converged: no amount of waiting makes it done.
    assert not judge(wait, svc, tasks[:1], steady=60)["done"]


def test_a_paused_update_ends_the_wait_with_the_tasks_errors(wait):
    paused = {"State": "paused", "StartedAt": AFTER, "Message": "update paused due to failure or early termination of task x"}
    svc = service("nginx:9.9", update=paused)
    tasks = [task("httpd:2.4"), task("nginx:9.9", state="rejected", desired="shutdown", node="n2", err="No such image: nginx:9.9")]
    look = judge(wait, svc, tasks)
    assert look["failed"] and look["msg"] == (
        "update of WEB paused by Swarm: No such image: nginx:9.9 (worker1); now 1 running httpd:2.4 (of 2 wanted). "
        "Run `docker service update --rollback WEB` to go back."
    )


def test_swarms_rollback_after_this_change_fails_it_but_an_older_one_is_where_the_service_stands(wait):
    done = {"State": "rollback_completed", "StartedAt": AFTER}
    tasks = [task("httpd:2.4"), task("httpd:2.4", node="n2"), task("nginx:9.9", state="rejected", desired="shutdown", err="No such image: nginx:9.9")]
    look = judge(wait, service(update=done), tasks, image="nginx:9.9")
    assert look["failed"] and look["msg"] == "update of WEB failed: No such image: nginx:9.9 (manager1); Swarm rolled back to httpd:2.4, 2/2 running"
    # Nothing changed in this run (no since): the rollback is history, the service has converged.
    assert not judge(wait, service(update=done), tasks[:2], since=None)["failed"]
    # An UpdateStatus from before the change is stale.
    stale = {"State": "paused", "StartedAt": "2026-11-28T01:59:00Z"}
    assert judge(wait, service(update=stale), tasks[:2])["done"] and not judge(wait, service(update=stale), tasks[:2])["failed"]


def test_tasks_rejected_for_good_fail_once_nothing_comes_up_for_the_grace(wait):
    tasks = [task("nope:1", state="rejected", desired="shutdown", err="No such image: nope:1"), task("nope:1", state="pending", node="")]
    assert not judge(wait, service("nope:1"), tasks, stalled=3)["done"]
    look = judge(wait, service("nope:1"), tasks, stalled=10, operation="deploy")
    assert look["failed"] and look["msg"] == "deploy of WEB failed: No such image: nope:1 (manager1); now no task running (of 2 wanted nope:1)"
    # Errors from before the change are not this change's.
    old = [task("nope:1", state="rejected", desired="shutdown", err="No such image: nope:1", created="2026-11-28T01:00:00Z")]
    assert not judge(wait, service("nope:1"), old, stalled=60)["done"]


def test_docker_times_with_nanoseconds(wait):
    assert wait.stamp(BEFORE) < wait.stamp(AFTER)
    assert wait.stamp("2026-11-28T02:00:00+01:00") < wait.stamp("2026-11-28T02:00:00Z")
    assert wait.stamp("") is None and wait.stamp("0001-01-01T00:00:00Z") is not None


def test_a_task_placed_on_a_node_that_went_down_is_named_with_the_way_out(wait):
    """Swarm's updater waits for good for a task on a node that went down before it started."""
    updating = {"State": "updating", "StartedAt": AFTER}
    tasks = [task("httpd:2.5"), task("httpd:2.4", node="n2", desired="shutdown"),
             task("httpd:2.5", state="assigned", desired="shutdown", node="n2"), task("httpd:2.5", node="n1")]
    look = judge(wait, service("httpd:2.5", update=updating), tasks, down=frozenset({"n2"}))
    assert not look["done"]
    assert look["held"].startswith("Swarm's update waits for a task it placed on worker1, down before the task started:")
    assert "`docker service update --rollback WEB`" in look["held"]
    # The same node up again: the task may yet start, nothing to name.
    assert judge(wait, service("httpd:2.5", update=updating), tasks)["held"] == ""
    # An older task from before this change is not this change's.
    old = [*tasks[:2], task("httpd:2.5", state="assigned", desired="shutdown", node="n2", created=BEFORE), tasks[3]]
    between = "2026-11-28T02:00:03Z"
    assert judge(wait, service("httpd:2.5", update=updating), tasks, since=between, down=frozenset({"n2"}))["held"]
    assert judge(wait, service("httpd:2.5", update=updating), old, since=between, down=frozenset({"n2"}))["held"] == ""


def test_the_wait_names_the_task_that_came_up_last_with_its_states(wait):
    seen = {}
    looks = [(0.0, [("a", "n1", "starting"), ("b", "", "pending")]),
             (0.1, [("a", "n1", "starting"), ("b", "n2", "assigned")]),
             (0.4, [("a", "n1", "running"), ("b", "n2", "preparing")]),
             (0.6, [("a", "n1", "running"), ("b", "n2", "preparing"), ("c", "n2", "running", "shutdown")]),
             (27.9, [("a", "n1", "running"), ("b", "n2", "running")])]
    for at, tasks in looks:
        wait.record(seen, [{"ID": t[0], "NodeID": t[1], "DesiredState": t[3] if len(t) > 3 else "running",
                            "Status": {"State": t[2]}} for t in tasks], NODES, at)
    assert wait.last_up(seen) == "worker1: pending 0.0 s, assigned 0.1 s, preparing 0.4 s, running 27.9 s"
    assert wait.last_up({}) == ""
    assert wait.last_up({"x": ("worker1", [("preparing", 0.0)])}) == ""


def test_a_wait_that_times_out_says_where_the_tasks_that_do_not_run_stand(wait):
    seen = {}
    tasks = [{"ID": "a", "NodeID": "n1", "DesiredState": "running", "Status": {"State": "running"}},
             {"ID": "b", "NodeID": "n2", "DesiredState": "running", "Status": {"State": "assigned"}},
             {"ID": "c", "NodeID": "n2", "DesiredState": "running", "Status": {"State": "rejected"}}]
    wait.record(seen, tasks, NODES, 0.0)
    tasks[1]["Status"]["State"] = "preparing"
    wait.record(seen, tasks, NODES, 3.1)
    assert wait.not_up(seen) == "worker1 preparing since 3.1 s"
