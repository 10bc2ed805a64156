"""swarmlab ui's reader: how it reaches a manager from inventory vars, and what it keeps of the Engine API's answers."""

import pytest

from swarmlab.lab import LabError
from swarmlab.access import access_of
from swarmlab import swarmview
from swarmlab.swarmview import _tag, shape


def test_a_lab_container_node_is_reached_with_docker_exec():
    a = access_of("mestre", {"ansible_connection": "community.docker.docker", "ansible_host": "lab-mestre"})
    assert a.argv == ("docker", "exec", "-i", "lab-mestre", "docker", "system", "dial-stdio")


def test_ssh_takes_the_inventorys_user_key_port_options_and_sudo():
    a = access_of("m1", {
        "ansible_host": "10.0.0.5", "ansible_user": "ops", "ansible_port": 2222, "ansible_ssh_private_key_file": "/k/id",
        "ansible_ssh_common_args": "-o UserKnownHostsFile=/s/known_hosts -o StrictHostKeyChecking=yes", "ansible_become": "true",
    })
    argv = list(a.argv)
    assert argv[0] == "ssh" and argv[argv.index("-p") + 1] == "2222" and argv[argv.index("-l") + 1] == "ops"
    assert argv[argv.index("-i") + 1] == "/k/id" and "UserKnownHostsFile=/s/known_hosts" in argv
    assert argv[-3:] == ["--", "10.0.0.5", "sudo -n docker system dial-stdio"]
    assert "StrictHostKeyChecking=no" not in argv  # host keys are checked unless the inventory says otherwise


def test_without_become_the_user_talks_to_docker_itself():
    assert access_of("m1", {"ansible_user": "ops"}).argv[-3:] == ("--", "m1", "docker system dial-stdio")


def test_a_templated_connection_var_is_refused_with_what_to_do():
    with pytest.raises(LabError, match="ansible_host is a template .* give its value"):
        access_of("m1", {"ansible_host": "{{ lookup('env', 'IP') }}"})


def test_an_unknown_connection_is_refused():
    with pytest.raises(LabError, match="not ansible_connection=winrm"):
        access_of("m1", {"ansible_connection": "winrm"})


def test_tags_of_image_references():
    assert _tag("swarmlab/nginx:1.12.1@sha256:" + "a" * 64) == "1.12.1"
    assert _tag("localhost:5000/httpd") == "latest"
    assert _tag("registry:5000/team/app:2.0") == "2.0"


def _task(tid, service, slot, node, image, state, desired, updated, err="", created=""):
    return {"ID": tid, "ServiceID": service, "Slot": slot, "NodeID": node, "DesiredState": desired, "UpdatedAt": updated,
            "CreatedAt": created or updated,
            "Spec": {"ContainerSpec": {"Image": image}}, "Status": {"State": state, "Err": err, "Message": state}}


NODES = [
    {"ID": "n2", "Spec": {"Role": "worker", "Availability": "drain", "Labels": {"note": "<b>x</b>"}},
     "Description": {"Hostname": "escravo1", "Engine": {"EngineVersion": "27.1"}}, "Status": {"State": "ready", "Addr": "10.0.0.6"}},
    {"ID": "n1", "Spec": {"Role": "manager", "Availability": "active"}, "Description": {"Hostname": "mestre", "Engine": {"EngineVersion": "27.1"}},
     "Status": {"State": "ready", "Addr": "0.0.0.0"}, "ManagerStatus": {"Leader": True, "Reachability": "reachable", "Addr": "10.0.0.5:2377"}},
]
SERVICES = [
    {"ID": "s1", "Spec": {"Name": "WEB", "Mode": {"Replicated": {"Replicas": 2}},
                          "TaskTemplate": {"ContainerSpec": {"Image": "nginx:1.13.5@sha256:" + "b" * 64}}},
     "UpdateStatus": {"State": "updating", "Message": "update in progress"}},
    {"ID": "s2", "Spec": {"Name": "WEB-proxy", "Mode": {"Global": {}}, "TaskTemplate": {"ContainerSpec": {"Image": "haproxy:2.6"}},
                          "Labels": {"org.swarmlab.proxy-for": "WEB", "org.swarmlab.publish": "85:80"}},
     "Endpoint": {"Ports": [{"Protocol": "tcp", "TargetPort": 85, "PublishedPort": 85, "PublishMode": "host"}]}},
]
TASKS = [
    _task("t1", "s1", 1, "n1", "nginx:1.13.5", "running", "running", "2026-01-01T00:00:05Z"),
    _task("t0", "s1", 1, "n1", "nginx:1.12.1", "shutdown", "shutdown", "2026-01-01T00:00:04Z"),
    _task("t2", "s1", 2, "n1", "nginx:1.12.1", "running", "shutdown", "2026-01-01T00:00:06Z"),
    _task("t3", "s1", 2, "", "nginx:1.13.5", "rejected", "shutdown", "2026-01-01T00:00:03Z", err="No such image"),
    _task("t4", "s1", 2, "", "nginx:1.13.5", "rejected", "shutdown", "2026-01-01T00:00:02Z", err="No such image"),
    _task("p1", "s2", None, "n1", "haproxy:2.6", "running", "running", "2026-01-01T00:00:01Z"),
]


def test_shape_keeps_what_the_page_shows():
    view = shape(NODES, SERVICES, TASKS)
    assert [n["name"] for n in view["nodes"]] == ["mestre", "escravo1"]  # managers first
    mestre, escravo1 = view["nodes"]
    assert mestre["addr"] == "10.0.0.5" and mestre["leader"]  # the manager's address when Status has none
    assert escravo1["availability"] == "drain" and escravo1["labels"] == {"note": "<b>x</b>"}
    [web] = view["services"]  # the proxy is shown with the service it publishes
    assert web["ports"] == [{"published": 85, "target": 80, "protocol": "tcp", "mode": "proxy"}]
    assert (web["running"], web["desired"], web["image"]) == (1, 2, "nginx:1.13.5")
    assert web["update"] == {"state": "updating", "message": "update in progress"} and web["proxy"]["running"] == 1
    tasks = {t["id"]: t for t in view["tasks"]}
    assert not tasks["t1"]["old"] and tasks["t1"]["tag"] == "1.13.5"
    assert tasks["t0"]["old"]  # replaced: history
    assert not tasks["t2"]["old"]  # still running while Swarm stops it
    assert not tasks["t3"]["old"] and tasks["t3"]["error"] == "No such image"  # the slot's latest failure shows
    assert tasks["t4"]["old"]  # an earlier one does not


def test_a_task_on_a_node_that_is_down_shows_as_lost_not_stopping():
    escravo2 = {"ID": "n3", "Spec": {"Role": "worker", "Availability": "active"}, "Description": {"Hostname": "escravo2"},
                "Status": {"State": "down", "Addr": "10.0.0.7"}}
    tasks = [
        # Swarm gave the slot to mestre; the down node's task keeps its last state (running) until it is back.
        _task("t5", "s1", 2, "n3", "nginx:1.13.5", "running", "shutdown", "2026-01-01T00:00:07Z"),
        _task("t6", "s1", 2, "n1", "nginx:1.13.5", "running", "running", "2026-01-01T00:00:08Z"),
        _task("t7", "s1", 1, "n3", "nginx:1.13.5", "shutdown", "shutdown", "2026-01-01T00:00:01Z"),
    ]
    view = {t["id"]: t for t in shape([*NODES, escravo2], SERVICES, tasks)["tasks"]}
    assert view["t5"]["lost"] and not view["t5"]["old"]
    assert not view["t6"]["lost"] and not view["t7"]["lost"] and view["t7"]["old"]
    assert not any(t["lost"] for t in shape(NODES, SERVICES, TASKS)["tasks"])  # t2: still running while Swarm stops it


def test_a_failure_its_slot_got_over_is_history():
    tasks = [
        # escravo1's task failed to start; Swarm's next task for the slot runs on mestre.
        _task("t8", "s1", 1, "n2", "nginx:1.13.5", "rejected", "shutdown", "2026-01-01T00:00:06Z", err="network sandbox",
              created="2026-01-01T00:00:03Z"),
        _task("t9", "s1", 1, "n1", "nginx:1.13.5", "running", "running", "2026-01-01T00:00:09Z", created="2026-01-01T00:00:05Z"),
        # slot 2 runs, then fails: its failure is news.
        _task("u1", "s1", 2, "n1", "nginx:1.13.5", "running", "shutdown", "2026-01-01T00:00:04Z", created="2026-01-01T00:00:01Z"),
        _task("u2", "s1", 2, "n2", "nginx:1.13.5", "failed", "shutdown", "2026-01-01T00:00:08Z", created="2026-01-01T00:00:05Z"),
    ]
    view = {t["id"]: t for t in shape(NODES, SERVICES, tasks)["tasks"]}
    assert view["t8"]["old"] and not view["t9"]["old"]
    assert not view["u2"]["old"]


def test_a_global_service_wants_a_task_on_each_node_its_placement_allows_as_verify_counts_it():
    workers = {"ID": "s3", "Spec": {"Name": "agent", "Mode": {"Global": {}}, "TaskTemplate": {
        "ContainerSpec": {"Image": "agent:1"}, "Placement": {"Constraints": ["node.role==worker"]}}}}
    worker2 = {"ID": "n3", "Spec": {"Role": "worker", "Availability": "active"}, "Description": {"Hostname": "escravo2"},
               "Status": {"State": "ready", "Addr": "10.0.0.7"}}
    tasks = [_task("a1", "s3", None, "n3", "agent:1", "running", "running", "2026-01-01T00:00:01Z")]
    # escravo1 is drained and mestre is a manager: one task wanted, on escravo2.
    [agent] = shape([*NODES, worker2], [workers], tasks)["services"]
    assert (agent["mode"], agent["desired"], agent["running"]) == ("global", 1, 1)
    assert agent["desired"] == swarmview.model.tasks_wanted(workers, [*NODES, worker2])
