"""swarmlab.runner over real ansible-runner on tiny local playbooks."""

import tempfile

from swarmlab import inventory
from swarmlab.runner import FORKS_MAX, FORKS_MIN, PlaybookError, run_playbook


def book(root):
    return root / "tests/unit/playbooks/outcomes.yml"


def test_success_counts_changes(root):
    r = run_playbook(book(root))
    assert r.ok and r.status == "successful" and r.rc == 0
    assert r.stats["localhost"].changed == 2
    assert r.changed == 2
    # A no_log result arrives censored: its change is still listed (provision --check's table).
    assert r.changes == [("localhost", "Change something"), ("localhost", "Change something quietly")]
    assert r.failures == []
    assert r.warnings == []


def test_warnings_are_collected_once_each(root):
    r = run_playbook(book(root), extravars={"warn": True})
    assert r.ok and r.warnings == ["the VMs run under TCG"]


def test_facts_set_by_tasks_are_reported_except_no_log(root):
    r = run_playbook(book(root), extravars={"secret": "SWMTKN-1-notreal"})
    assert r.facts["localhost"]["report_rows"] == [{"check": "node", "ok": True}]
    assert "hidden" not in r.facts["localhost"]


def test_large_extravars_go_in_a_file_not_on_the_command_line(root):
    # One argument of the command line may hold 128 KiB at most (MAX_ARG_STRLEN): a 1 MiB spec passes.
    blob = "x" * (1 << 20)
    r = run_playbook(book(root), extravars={"fail_plain": True, "blob": blob})
    assert not r.ok and [f.message for f in r.failures] == ["the requested failure"], r.error


def test_failure_names_task_host_and_message(root):
    r = run_playbook(book(root), extravars={"fail_plain": True})
    assert not r.ok and r.rc != 0
    assert r.stats["localhost"].failed == 1
    [f] = r.failures
    assert (f.host, f.task, f.message) == ("localhost", "Fail on request", "the requested failure")
    assert str(PlaybookError(r)) == "outcomes.yml: localhost: failed at task 'Fail on request': the requested failure"


def test_failed_command_names_its_own_reason(root):
    r = run_playbook(book(root), extravars={"fail_command": True})
    [f] = r.failures
    assert (f.task, f.message) == ("Fail a command", "the command reason")


def test_loop_failure_names_the_failed_items(root):
    r = run_playbook(book(root), extravars={"fail_loop": True})
    [f] = r.failures
    assert (f.task, f.message) == ("Fail in a loop", "item b is wrong")


def test_no_log_stays_censored(root):
    r = run_playbook(book(root), extravars={"fail_secret": True, "secret": "SWMTKN-1-notreal"})
    [f] = r.failures
    assert "SWMTKN" not in f.message
    assert "no_log" in f.message


def test_ansible_error_before_any_task(root, tmp_path):
    bad = tmp_path / "bad.yml"
    bad.write_text("- hosts: localhost\n  tasks:\n    - nosuchmodule: {}\n")
    r = run_playbook(bad)
    assert not r.ok
    assert "nosuchmodule" in r.error
    assert "nosuchmodule" in str(PlaybookError(r))


def _local_inventory(tmp_path, count):
    hosts = "".join(f"    h{i}:\n" for i in range(count))
    path = tmp_path / "hosts.yml"
    path.write_text(f"all:\n  vars:\n    ansible_connection: local\n  hosts:\n{hosts}")
    return path


def test_forks_follow_the_inventory_host_count(root, tmp_path):
    r = run_playbook(root / "tests/unit/playbooks/forks.yml", _local_inventory(tmp_path, 7))
    assert r.ok, r.failures or r.error
    assert int(r.facts["h0"]["run_forks"]) == 7


def test_an_inventory_path_relative_to_the_callers_directory_reaches_its_hosts(root, tmp_path, monkeypatch):
    # ansible-playbook runs elsewhere: the path given relative once matched no file, and a play over no hosts passed.
    _local_inventory(tmp_path, 2)
    monkeypatch.chdir(tmp_path)
    r = run_playbook(root / "tests/unit/playbooks/forks.yml", "hosts.yml")
    assert r.ok, r.failures or r.error
    assert int(r.facts["h0"]["run_forks"]) == FORKS_MIN
    assert sorted(inventory.read("hosts.yml").hostvars) == ["h0", "h1"]


def test_forks_follow_the_given_host_count_within_bounds(root, tmp_path):
    inv = _local_inventory(tmp_path, 2)
    few = run_playbook(root / "tests/unit/playbooks/forks.yml", inv)
    many = run_playbook(root / "tests/unit/playbooks/forks.yml", inv, hosts=500)
    assert int(few.facts["h0"]["run_forks"]) == FORKS_MIN
    assert int(many.facts["h0"]["run_forks"]) == FORKS_MAX


def test_reading_an_inventory_leaves_nothing_in_the_temporary_directory(tmp_path, monkeypatch):
    # Read in this process: no private directory of ansible-runner's keeps the hostvars (a password here).
    temp = tmp_path / "tmp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    path = tmp_path / "hosts.yml"
    path.write_text("all:\n  hosts:\n    node1:\n      ansible_become_password: not-a-real-password\n")
    read = inventory.read(path)
    assert read.hostvars["node1"]["ansible_become_password"] == "not-a-real-password"
    assert list(temp.iterdir()) == []


def test_group_vars_beside_the_inventory_reach_its_hosts(root):
    # As ansible-inventory --list gives them: inventory/example's group_vars/all.yml.
    read = inventory.read(root / "inventory/example/hosts.yml")
    assert read.managers == ["mestre"] and read.workers == ["escravo1", "escravo2"]
    assert read.hostvars["escravo1"]["docker_engine_source"] == "official"
    assert not read.lab
