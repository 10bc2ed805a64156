import pytest

from swarmlab import paths


@pytest.fixture(scope="session")
def root():
    return paths.ROOT


pytest_plugins = ["tests.docker_fixtures"]
