"""swarmlab: Ansible content that builds a Docker Swarm, and the tools that run and check it."""

__version__ = "0.1.0"
