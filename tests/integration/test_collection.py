"""The collection as an ops team takes it: built, installed offline into an empty path (its dependencies from the
`ansible` package), held to `ansible-test sanity` with no ignores, and used from a playbook of their own outside the
checkout, with their own ansible.cfg and FQCN names only, on a lab: the engines, the swarm, their service, and
verify passing."""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.docker

LAB = "it-collection"
NODES = [{"name": "manager1", "role": "manager"}, {"name": "worker1", "role": "worker"}]
BIN = Path(sys.executable).parent

PLAYBOOK = """\
---
- name: Install Docker Engine and form the swarm
  ansible.builtin.import_playbook: swarmlab.swarm.site

- name: Deploy the team's service
  ansible.builtin.import_playbook: swarmlab.swarm.services

- name: Check nodes, services and pages
  ansible.builtin.import_playbook: swarmlab.swarm.verify
"""

SPEC = {
    "swarm_services_specs": [
        {"name": "WEB", "image": "swarmlab/nginx:1.12.1", "replicas": 2, "ports": [{"published": 85, "target": 80}]}
    ],
    "exercise_checks": [{"service": "WEB", "port": 85, "expect": "Welcome to nginx!"}],
}


def _recap(out: str) -> dict[str, dict[str, int]]:
    return {
        m.group(1): {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", m.group(2))}
        for m in re.finditer(r"^(\S+)\s+: (ok=.*)$", out, re.M)
    }


@pytest.fixture(scope="module")
def consumer(root, tmp_path_factory):
    """An empty directory with the built collection installed under it, and nothing of the checkout's."""
    top = tmp_path_factory.mktemp("consumer")
    built = subprocess.run(
        [BIN / "ansible-galaxy", "collection", "build", "--output-path", top / "dist", str(root)],
        capture_output=True, text=True, timeout=120,
    )
    assert built.returncode == 0, built.stdout + built.stderr
    tarball = next((top / "dist").glob("swarmlab-swarm-*.tar.gz"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")} | {"ANSIBLE_NOCOLOR": "1"}
    installed = subprocess.run(
        [BIN / "ansible-galaxy", "collection", "install", "--offline", "-p", top / "collections", tarball],
        capture_output=True, text=True, cwd=top, env=env, timeout=120,
    )
    assert installed.returncode == 0, installed.stdout + installed.stderr
    (top / "ansible.cfg").write_text(f"[defaults]\ncollections_path = {top / 'collections'}\n")
    (top / "site.yml").write_text(PLAYBOOK)
    (top / "spec.yml").write_text(yaml.safe_dump(SPEC))
    return top, env, tarball


def test_the_tarball_leaves_the_lab_tests_and_tools_out(consumer):
    _, _, tarball = consumer
    names = subprocess.run(["tar", "tzf", tarball], capture_output=True, text=True, check=True).stdout.split()
    assert "plugins/modules/swarm_service_wait.py" in names
    assert "roles/swarm/tasks/main.yml" in names and "playbooks/site.yml" in names
    left_in = [n for n in names if n.startswith(("roles/lab_", "playbooks/lab/", "tests/", "bench/", "src/", "molecule/", ".collections",
                                                 "hatch_build.py", "pyproject.toml"))]
    assert left_in == []


def test_installed_copy_is_the_one_ansible_finds(consumer):
    top, env, _ = consumer
    listed = subprocess.run(
        [BIN / "ansible-galaxy", "collection", "list", "swarmlab.swarm", "--format", "yaml"],
        capture_output=True, text=True, cwd=top, env=env, timeout=60,
    )
    assert listed.returncode == 0, listed.stderr
    assert list(yaml.safe_load(listed.stdout)) == [str(top / "collections" / "ansible_collections")]


def test_ansible_test_sanity_passes_with_no_ignores(root, consumer, tmp_path):
    _, env, tarball = consumer
    installed = subprocess.run(
        [BIN / "ansible-galaxy", "collection", "install", "--offline", "--no-deps", "-p", tmp_path, tarball],
        capture_output=True, text=True, cwd=tmp_path, env=env, timeout=120,
    )
    assert installed.returncode == 0, installed.stdout + installed.stderr
    collection = tmp_path / "ansible_collections" / "swarmlab" / "swarm"
    assert not (collection / "tests").exists()  # so no ignore file either
    # ansible-test puts pip into its sanity venvs with a script from a host out of reach here: ours stands in.
    home = tmp_path / "home"
    (home / ".ansible/test/cache").mkdir(parents=True)
    shutil.copy(root / "tests/sanity/get_pip.py", home / ".ansible/test/cache/get_pip_24_2.py")
    sanity = subprocess.run(
        [BIN / "ansible-test", "sanity", "--venv", "--python", "3.11", "--color", "no"],
        capture_output=True, text=True, cwd=collection, env=env | {"HOME": str(home)}, timeout=900,
    )
    out = sanity.stdout + sanity.stderr
    assert sanity.returncode == 0, "\n".join(line for line in out.splitlines() if "ERROR" in line or "FATAL" in line)[-6000:]
    assert 'Running sanity test "validate-modules"' in out and 'Running sanity test "pylint"' in out


def test_a_playbook_of_their_own_provisions_deploys_and_verifies(consumer, make_lab):
    top, env, _ = consumer
    inventory = make_lab(LAB, "172.30.32.0/24", NODES, lab_nodes_ready=True)

    def play():
        return subprocess.run(
            [BIN / "ansible-playbook", "-i", str(inventory), "site.yml", "-e", "@spec.yml"],
            capture_output=True, text=True, cwd=top, env=env, timeout=900,
        )

    first = play()
    assert first.returncode == 0, first.stdout[-4000:] + first.stderr[-2000:]
    # verify.yml's rows: every node Ready, WEB converged, the page from both nodes.
    assert "Welcome to nginx!" in first.stdout
    assert sum(h["changed"] for h in _recap(first.stdout).values()) > 0  # the swarm and WEB were made

    again = play()
    assert again.returncode == 0, again.stdout[-4000:] + again.stderr[-2000:]
    recap = _recap(again.stdout)
    assert set(recap) >= {"manager1", "worker1"}
    assert {h: r["changed"] for h, r in recap.items()} == {h: 0 for h in recap}


@pytest.fixture(scope="module")
def served(consumer, make_lab):
    """The consumer's lab, once its playbook has run (test_a_playbook_of_their_own... makes it first)."""
    inventory = make_lab(LAB, "172.30.32.0/24", NODES, lab_nodes_ready=True)
    return inventory


def _task_names(out: str) -> list[str]:
    return re.findall(r"^TASK \[(.*?)\]", out, re.M)


def _role_task_names(root: Path, role: str, *files: str) -> set[str]:
    return {t["name"] for f in files for t in yaml.safe_load((root / "roles" / role / "tasks" / f).read_text())}


def test_tags_run_only_their_phase(root, consumer, served):
    top, env, _ = consumer
    run = subprocess.run(
        [BIN / "ansible-playbook", "-i", str(served), "site.yml", "-e", "@spec.yml", "--tags", "swarm"],
        capture_output=True, text=True, cwd=top, env=env, timeout=600,
    )
    assert run.returncode == 0, run.stdout[-4000:]
    tasks = _task_names(run.stdout)
    engine = {t.split(" : ", 1)[1] for t in tasks if t.startswith("swarmlab.swarm.docker_engine : ")}
    # The engine role's input and platform checks run for every tag; none of its install or configure steps.
    assert engine and engine <= _role_task_names(root, "docker_engine", "validate.yml", "platform.yml") | {
        t for t in engine if t.startswith("Validating arguments")}, engine
    assert not engine & _role_task_names(root, "docker_engine", "install.yml", "daemon.yml", "service.yml", "apt_lists.yml")
    assert any(t.startswith("swarmlab.swarm.swarm : ") for t in tasks)
    # Of the services and checks, only Ansible's argument validation, which it runs for every tag.
    later = [t for t in tasks if t.startswith(("swarmlab.swarm.swarm_services : ", "swarmlab.swarm.verify : "))]
    assert all(" : Validating arguments against arg spec" in t for t in later), later


def test_cli_passes_extra_vars_and_reads_a_vault_with_its_password_file(served, tmp_path):
    swarmlab = [str(BIN / "swarmlab"), "check", "-i", str(served), "--json"]
    # -e reaches the verify role: a page text nobody serves fails the check.
    wrong = json.dumps(SPEC | {"exercise_checks": [{"service": "WEB", "port": 85, "expect": "text no page has"}]})
    failed = subprocess.run([*swarmlab, "-e", wrong], capture_output=True, text=True, timeout=300)
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert "text no page has" in failed.stdout

    password = tmp_path / "pass"
    password.write_text("s3cret\n")
    vaulted = tmp_path / "checks.yml"
    vaulted.write_text(yaml.safe_dump(SPEC))
    enc = subprocess.run([BIN / "ansible-vault", "encrypt", "--vault-password-file", password, vaulted], capture_output=True, text=True)
    assert enc.returncode == 0, enc.stderr
    passed = subprocess.run([*swarmlab, "-e", f"@{vaulted}", "--vault-password-file", str(password)],
                            capture_output=True, text=True, timeout=300)
    assert passed.returncode == 0, passed.stdout + passed.stderr
    rows = json.loads(passed.stdout)["checks"]
    assert [r["detail"] for r in rows if r["check"] == "http" and "Welcome to nginx!" in r["detail"]]


def test_each_roles_variables_are_documented_from_its_argument_specs(consumer):
    top, env, _ = consumer
    roles = ["docker_engine", "swarm", "swarm_services", "verify", "docker_prune"]
    doc = subprocess.run(
        [BIN / "ansible-doc", "-t", "role", "--json", *(f"swarmlab.swarm.{r}" for r in roles)],
        capture_output=True, text=True, cwd=top, env=env, timeout=120,
    )
    assert doc.returncode == 0, doc.stderr
    docs = json.loads(doc.stdout)
    assert set(docs) == {f"swarmlab.swarm.{r}" for r in roles}
    for name, role in docs.items():
        options = role["entry_points"]["main"]["options"]
        assert options and all(o.get("description") for o in options.values()), name
    assert "swarm_data_path_port" in docs["swarmlab.swarm.swarm"]["entry_points"]["main"]["options"]
    assert "rotate" in docs["swarmlab.swarm.swarm"]["entry_points"]
