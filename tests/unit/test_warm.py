"""The warm path's decision: which inputs count, and why a lab does not match its last checked run."""

from pathlib import Path

from swarmlab import warm
from swarmlab.access import access_of


def test_the_inputs_change_with_the_lab_the_exercise_and_the_inventory(tmp_path):
    inventory = tmp_path / "hosts.yml"
    inventory.write_text("all: {}\n")
    base = warm.inputs_of({"lab_nodes_workers": 2}, {"swarm_services_specs": []}, inventory)
    assert base == warm.inputs_of({"lab_nodes_workers": 2}, {"swarm_services_specs": []}, inventory)
    assert base != warm.inputs_of({"lab_nodes_workers": 3}, {"swarm_services_specs": []}, inventory)
    assert base != warm.inputs_of({"lab_nodes_workers": 2}, {"swarm_services_specs": [{"name": "WEB"}]}, inventory)
    (tmp_path / "hosts-ssh.yml").write_text("all: {}\n")  # the lab's other inventory counts too
    assert base != warm.inputs_of({"lab_nodes_workers": 2}, {"swarm_services_specs": []}, inventory)


def test_the_roles_and_playbooks_are_inputs():
    names = {str(p.relative_to(warm.paths.ROOT)) for p in warm._files(*(warm.paths.ROOT / s for s in warm.SOURCES))}
    assert {"roles/docker_engine/tasks/main.yml", "playbooks/site.yml", "ansible.cfg", "src/swarmlab/warm.py"} <= names
    assert not any("__pycache__" in n for n in names)


def reading(**nodes):
    return warm.Reading(inputs="i", lab="l", nodes=nodes)


def test_why_names_what_differs():
    last = {"inputs": "i", "lab": "l", "nodes": {"manager1": "a", "worker1": "b"}}
    assert warm._why(last, reading(manager1="a", worker1="b")) == ""
    assert warm._why(last, reading(manager1="a", worker1="c")) == "worker1 changed since the last checked run"
    assert warm._why(last, reading(manager1="a")) == "the lab's nodes are not those of its last checked run"
    assert "settings, exercise, roles" in warm._why({**last, "inputs": "x"}, reading(manager1="a", worker1="b"))
    assert "containers, VMs or keys" in warm._why({**last, "lab": "x"}, reading(manager1="a", worker1="b"))
    broken = warm.Reading(inputs="i", lab="l", nodes={"manager1": ""}, error="manager1: no answer in 60 s")
    assert warm._why(last, broken) == "cannot read every node (manager1: no answer in 60 s)"


def test_no_record_is_no_match(tmp_path, monkeypatch):
    monkeypatch.setattr(warm.paths, "lab_state", lambda lab: tmp_path / lab)
    why, _ = warm.difference("nolab", Path(tmp_path / "hosts.yml"), {}, {})
    assert why == "no checked run of this lab is recorded"


def test_nodes_are_read_as_ansible_reaches_them():
    assert access_of("m", {"ansible_connection": "community.docker.docker", "ansible_host": "lab-m"}, "sh -s").argv == (
        "docker", "exec", "-i", "lab-m", "sh", "-s")
    assert access_of("m", {"ansible_user": "ops", "ansible_become": True}, "sh -s").argv[-1] == "sudo -n sh -s"
