"""Errors users cause that need no Docker engine to show: one clear line, exit 1, no traceback."""

import os
import socket
import subprocess
import sys
from pathlib import Path

from tests import ui_server

CLI = str(Path(sys.executable).parent / "swarmlab")


def run(*args, **env):
    return subprocess.run([CLI, *args], capture_output=True, text=True, timeout=120, env={**os.environ, **env})


def line(r):
    assert r.returncode == 1, r.stdout + r.stderr
    assert "Traceback" not in r.stderr
    [out] = [x for x in r.stderr.splitlines() if x.startswith("swarmlab:")]
    return out


def test_no_docker_engine(tmp_path):
    r = run("lab", "ls", DOCKER_HOST=f"unix://{tmp_path}/none.sock")
    assert "no Docker engine answers on this host" in line(r)


def test_inventory_without_managers(tmp_path):
    inv = tmp_path / "hosts.yml"
    inv.write_text("all:\n  children:\n    workers:\n      hosts:\n        escravo1: {ansible_host: 192.0.2.11}\n")
    r = run("provision", "-i", str(inv))
    assert f"inventory {inv} has no host in the group 'managers'" in line(r)


def test_missing_inventory_and_unknown_node(root, tmp_path):
    assert "does not exist" in line(run("status", "-i", str(tmp_path / "nope.yml")))
    r = run("drain", "escravo9", "-i", str(root / "inventory/example/hosts.yml"))
    assert line(r) == "swarmlab: no node 'escravo9' in the inventory; it has: escravo1, escravo2, mestre"


def test_unknown_template_and_exercise(root):
    assert "unknown template 'big'" in line(run("lab", "up", "--template", "big"))
    assert "no exercise 'nosuch'" in line(run("deploy", "nosuch", "-i", str(root / "inventory/example/hosts.yml")))


def test_limit_must_name_inventory_nodes(root):
    example = str(root / "inventory/example/hosts.yml")
    assert line(run("provision", "-i", example, "--limit", "escravo9")) == (
        "swarmlab: --limit names no node of the inventory: escravo9; its nodes: escravo1, escravo2, mestre")
    assert "--limit names no node" in line(run("provision", "-i", example, "--limit", ","))


def test_an_inventory_ansible_cannot_parse_says_why(tmp_path):
    bad = tmp_path / "hosts.yml"
    bad.write_text("all:\n  children:\n    managers:\n      hosts: [mestre, escravo1\n")
    out = line(run("status", "-i", str(bad)))
    assert f"cannot read inventory {bad}" in out and "YAML parsing failed" in out
    empty = tmp_path / "empty"
    empty.mkdir()
    assert "Completely failed to parse inventory source" in line(run("status", "-i", str(empty)))


def test_a_spec_file_that_is_not_utf8(tmp_path):
    spec = tmp_path / "spec.yml"
    spec.write_bytes(b"swarm_services_specs:\n  - {name: WEB, image: \xff\xfe}\n")
    assert line(run("deploy", str(spec))) == f"swarmlab: {spec} is not UTF-8 text; save the spec file as UTF-8"


def test_an_unreachable_manager_shows_why(tmp_path):
    inv = tmp_path / "hosts.yml"
    inv.write_text("all:\n  children:\n    managers:\n      hosts:\n        mestre: {ansible_host: nosuchhost.invalid, ansible_connection: ssh}\n")
    out = line(run("status", "-i", str(inv)))
    assert "mestre: unreachable" in out and "Could not resolve hostname nosuchhost.invalid" in out
    assert "No manager of the swarm answers (tried mestre" in out


def test_ui_refuses_connection_vars_it_cannot_read(tmp_path):
    inv = tmp_path / "hosts.yml"
    inv.write_text("all:\n  children:\n    managers:\n      hosts:\n        mestre: {ansible_host: \"{{ ip }}\"}\n")
    assert line(run("ui", "-i", str(inv))) == (
        "swarmlab: mestre: ansible_host is a template ({{ ip }}); swarmlab reads connection settings as written: give its value")


def test_ui_on_a_port_in_use_says_what_to_do(tmp_path):
    inv = tmp_path / "hosts.yml"
    inv.write_text("all:\n  children:\n    managers:\n      hosts:\n        mestre: {ansible_host: 127.0.0.1}\n")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert line(run("ui", "-i", str(inv), "--port", str(port))) == (
            f"swarmlab: cannot listen on 127.0.0.1:{port} (Address already in use): choose another with --port or --host")


def test_ui_shows_why_the_manager_cannot_be_reached(tmp_path):
    inv = tmp_path / "hosts.yml"
    inv.write_text("all:\n  children:\n    managers:\n      hosts:\n        mestre: {ansible_host: nosuchhost.invalid}\n")
    proc, url = ui_server.start("-i", str(inv))
    try:
        view = ui_server.first_snapshot(url)
        assert not view["ok"]
        assert view["error"].startswith("cannot reach the swarm: mestre: ssh: Could not resolve hostname nosuchhost.invalid")
    finally:
        rc, out = ui_server.stop(proc)
    assert rc == 0 and "swarmlab ui stopped" in out and "Traceback" not in out


def test_the_cli_adds_its_own_commands_beside_dockers():
    from swarmlab.cli import with_cli_hints

    said = "update of WEB paused by Swarm: No such image; now 2 running (of 3 wanted). Run `docker service update --rollback WEB` to go back."
    assert with_cli_hints(said).endswith("Run `docker service update --rollback WEB` (swarmlab rollback WEB) to go back.")
    assert "swarmlab activate NODE" in with_cli_hints("Make another node active first (docker node update --availability active NODE on a manager)")
    assert with_cli_hints("upgrade it first (playbooks/upgrade.yml), or") == "upgrade it first (swarmlab upgrade), or"
    assert with_cli_hints("nothing to add") == "nothing to add"


def test_day2_operations_refuse_bad_input_before_any_run(root, tmp_path):
    example = str(root / "inventory/example/hosts.yml")
    assert line(run("recover", "--node", "escravo1", "-i", example)) == (
        "swarmlab: 'escravo1' is not a manager of the inventory; its managers: mestre")
    assert line(run("backup", "-o", str(tmp_path), "-i", example)) == (
        f"swarmlab: {tmp_path} is a directory; give the archive's file name (-o DIR/swarm.tar.gz)")
    assert line(run("backup", "-o", str(tmp_path / "no" / "x.tar.gz"), "-i", example)) == (
        f"swarmlab: no directory {tmp_path / 'no'} for the archive; create it first")
    assert line(run("restore", str(tmp_path / "none.tar.gz"), "-i", example)) == (
        f"swarmlab: {tmp_path / 'none.tar.gz'} is not a file: give the archive `swarmlab backup` made")
    archive = tmp_path / "swarm.tar.gz"
    archive.write_bytes(b"")
    assert line(run("restore", str(archive), "--node", "escravo1", "-i", example)) == (
        "swarmlab: 'escravo1' is not a manager of the inventory; its managers: mestre")
    assert line(run("rotate", "keys", "-i", example)) == (
        "swarmlab: say what to rotate: join-tokens, ca, unlock-key (got keys)")
