"""The engine as the walkthrough leaves it: installed, running, answering, configured."""

import json


def test_packages_installed(host):
    assert host.package("docker.io").is_installed
    assert host.package("python3-docker").is_installed


def test_service_running_and_enabled(host):
    docker = host.service("docker")
    assert docker.is_running
    assert docker.is_enabled


def test_engine_answers(host):
    out = host.check_output("docker info --format '{{json .}}'")
    info = json.loads(out)
    assert info["ServerVersion"]
    assert info["LoggingDriver"] == "json-file"


def test_daemon_json_applied(host):
    conf = json.loads(host.file("/etc/docker/daemon.json").content_string)
    assert conf == {"log-driver": "json-file", "log-opts": {"max-size": "10m"}}


def test_container_runs_inside_node(host):
    # No registry: make a tiny image from the node's own /bin/echo and the libraries it links.
    host.check_output(
        "cd / && tar -ch bin/echo $(ldd /bin/echo | grep -o '/[^ ]*' | sed 's|^/||') 2>/dev/null"
        " | docker import - swarmlab-test/echo:latest"
    )
    out = host.check_output("docker run --rm swarmlab-test/echo:latest /bin/echo hello-from-node")
    assert out.strip() == "hello-from-node"
