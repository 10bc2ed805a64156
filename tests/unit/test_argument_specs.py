"""Bad role input fails before any task runs, with a message naming the variable."""

import pytest

from swarmlab.runner import run_playbook

GOOD_FPR = "9DC8 5822 9FC7 DD38 854A  E2D8 8D81 803C 0EBF CD88"

CASES = [
    ("docker_engine", {"docker_engine_source": "snap"}, ["docker_engine_source", "official, distro"]),
    ("docker_engine", {"docker_engine_hold": "sometimes"}, ["docker_engine_hold", "bool"]),
    ("docker_engine", {"docker_engine_daemon_options": "debug"}, ["docker_engine_daemon_options", "dict"]),
    ("docker_engine", {"docker_engine_repo_channel": "nightly"}, ["docker_engine_repo_channel", "stable, test"]),
    ("docker_engine", {"docker_engine_repo_key_fingerprint": "0EBFCD88"}, ["40-hex-digit", "0EBFCD88"]),
    ("docker_engine", {"docker_engine_apt_proxy": "cache:3142"}, ["docker_engine_apt_proxy", "http://", "cache:3142"]),
    ("docker_engine", {"docker_engine_daemon_options": {"live-restore": True}}, ["live-restore", "swarm mode"]),
    (
        "docker_engine",
        {"docker_engine_daemon_options": {"hosts": ["unix:///var/run/docker.sock", "tcp://0.0.0.0:2375"]}},
        ["tcp://0.0.0.0:2375", "without TLS", "tlsverify"],
    ),
    ("lab_nodes", {"lab_nodes_privileged": "maybe"}, ["lab_nodes_privileged"]),
    ("lab_nodes", {"lab_nodes_nodes": [{"name": "apt-cache", "role": "manager"}]}, ["package cache", "apt-cache"]),
    ("lab_nodes", {"lab_nodes_nodes": [{"name": "mestre", "role": "boss"}]}, ["role", "manager, worker"]),
    ("lab_nodes", {"lab_nodes_nodes": [{"role": "manager"}]}, ["name"]),
    ("lab_nodes", {"lab_nodes_managers": 0, "lab_nodes_workers": 2}, ["at least one manager"]),
    ("lab_nodes", {"lab_nodes_nodes": [{"name": "a b", "role": "manager"}]}, ["unique node names", "a b"]),
    ("lab_nodes", {"lab_nodes_ssh_user": "first.last"}, ["lab_nodes_ssh_user", "first.last", "lower-case"]),
    ("swarm", {"swarm_node_availability": "off"}, ["swarm_node_availability", "active, pause, drain"]),
    ("swarm", {"swarm_node_labels": ["zone", "east"]}, ["swarm_node_labels", "dict"]),
    ("swarm_services", {"swarm_services_specs": [{"name": "WEB", "image": "nginx", "volumes": ["data:/srv"]}]}, ["volumes"]),
    ("swarm_services", {"swarm_services_specs": [{"name": "WEB", "image": "nginx", "mode": "daemon"}]}, ["mode"]),
    (
        "swarm_services",
        {"swarm_services_specs": [{"name": "WEB", "image": "nginx", "ports": [{"published": 85, "target": 80, "mode": "vip"}]}]},
        ["mode", "ingress, host"],
    ),
    ("swarm_services", {"swarm_services_publish_mode": "mesh"}, ["swarm_services_publish_mode"]),
    (
        "swarm_services",
        {"swarm_services_specs": [{"name": "WEB", "image": "nginx", "ports": [{"published": 85, "target": 80, "protocol": "sctp"}]}]},
        ["protocol", "tcp, udp"],
    ),
    ("swarm_services", {"swarm_services_specs": [{"name": "WEB", "image": "nginx", "update_config": {"paralelism": 1}}]}, ["paralelism"]),
    (
        "swarm_services",
        {"swarm_services_specs": [{"name": "WEB", "image": "nginx", "rollback_config": {"failure_action": "rollback"}}]},
        ["failure_action", "continue, pause"],
    ),
    ("swarm_services", {"swarm_services_specs": [{"name": "WEB", "image": "nginx", "placement": {"constraint": ["x"]}}]}, ["constraint"]),
    ("lab_nodes", {"lab_nodes_driver": "virtualbox"}, ["lab_nodes_driver", "container, vm"]),
    ("lab_nodes", {"lab_nodes_vm_accel": "hvf"}, ["lab_nodes_vm_accel", "auto, kvm, tcg"]),
    ("docker_prune", {"docker_prune_volumes": "sometimes"}, ["docker_prune_volumes", "bool"]),
    ("verify", {"verify_http": [{"service": "WEB", "port": 85}]}, ["expect"]),
    ("lab_images", {"lab_images_suite": "buster"}, ["lab_images_suite", "bookworm, trixie"]),
]


@pytest.mark.parametrize(("role", "role_vars", "expected"), CASES, ids=[f"{c[0]}-{next(iter(c[1]))}" for c in CASES])
def test_bad_input_is_rejected(root, role, role_vars, expected):
    result = run_playbook(
        root / "tests/unit/playbooks/role_args.yml",
        extravars={"role_under_test": role, **role_vars},
    )
    assert not result.ok
    assert len(result.failures) == 1
    message = result.failures[0].message
    for part in expected:
        assert part in message, message
    # Validation fails on localhost before any change.
    assert result.stats["localhost"].changed == 0


@pytest.mark.parametrize(
    ("role", "role_vars"),
    [
        ("docker_engine", {"docker_engine_repo_key_fingerprint": GOOD_FPR, "docker_engine_source": "official"}),
        ("docker_engine", {"docker_engine_source": "distro", "docker_engine_users": ["alice"]}),
        ("docker_engine", {"docker_engine_apt_proxy": "http://10.0.0.5:3142"}),
        ("docker_engine", {"docker_engine_daemon_options": {"log-driver": "json-file", "live-restore": False}}),
        ("lab_nodes", {"lab_nodes_nodes": [{"name": "mestre", "role": "manager"}, {"name": "escravo1", "memory": "512m"}]}),
        ("lab_nodes", {"lab_nodes_driver": "vm", "lab_nodes_vm_subnet": "192.168.56.0/24"}),
        ("swarm_services", {"swarm_services_specs": [{"name": "WEB", "image": "nginx", "update_config": {"parallelism": 1, "delay": "2s",
                            "order": "stop-first", "failure_action": "rollback", "monitor": "5s"},
                            "placement": {"constraints": ["node.role == manager"], "replicas_max_per_node": 1}}]}),
    ],
)
def test_good_input_is_accepted(root, role, role_vars):
    result = run_playbook(root / "tests/unit/playbooks/role_args.yml", extravars={"role_under_test": role, **role_vars})
    assert result.ok, result.failures
