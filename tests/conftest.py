import importlib.util
import os
import shutil
import sys
import tempfile
import time

import pytest

from swarmlab import paths


@pytest.fixture(scope="session")
def root():
    return paths.ROOT


def load_plugin(path, name):
    """A role's plugin file as a module, for unit tests of its functions."""
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# The plugins import the collection's module_utils as Ansible loads them: ansible_collections.swarmlab.swarm.
sys.path.insert(0, str(paths.COLLECTIONS))

pytest_plugins = ["tests.docker_fixtures"]


def pytest_configure(config):
    # Each pytest-xdist worker gets its own temp directory: test_swarm checks that no run left its
    # ansible-runner directory behind, and the other worker's runs are not its business.
    if worker := os.environ.get("PYTEST_XDIST_WORKER"):
        config.swarmlab_tempdir = tempfile.tempdir = tempfile.mkdtemp(prefix=f"swarmlab-tests-{worker}-")


def pytest_unconfigure(config):
    if own := getattr(config, "swarmlab_tempdir", None):
        shutil.rmtree(own, ignore_errors=True)


def pytest_runtest_logfinish(nodeid):
    # scripts/test's timeline of the run: when each test ended, on which worker (bench/run.py --report reads it).
    if timeline := os.environ.get("SWARMLAB_TIMELINE"):
        with open(timeline, "a", encoding="utf-8") as f:
            f.write(f"{time.time():.0f} {os.environ.get('PYTEST_XDIST_WORKER', 'main')} {nodeid}\n")
