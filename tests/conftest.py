import importlib.util

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


pytest_plugins = ["tests.docker_fixtures"]
