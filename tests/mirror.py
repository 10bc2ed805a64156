"""A lab node serving a signed apt repository in Docker's layout (tests/integration/playbooks/apt_mirror.yml), and what
a test reads from it and from the nodes that install from it."""

import docker
import requests

PACKAGES = ["docker-ce", "docker-ce-cli", "containerd.io", "docker-buildx-plugin", "docker-compose-plugin"]


def lab_ip(lab, node):
    """The node's address on its lab's network (an engine in the node adds addresses of its own)."""
    [net] = docker.from_env().containers.get(f"{lab}-{node}").attrs["NetworkSettings"]["Networks"].values()
    return net["IPAddress"]


class Mirror:
    def __init__(self, release, inventory, lab, distribution, node="mirror"):
        self.release, self.inventory, self.lab = release, inventory, lab
        rc, fpr = self.sh(node, "GNUPGHOME=/srv/gnupg gpg --batch --with-colons --list-keys | awk -F: '/^fpr:/{print $10; exit}'")
        assert rc == 0 and len(fpr.strip()) == 40, fpr
        self.fingerprint = fpr.strip()
        self.url = f"http://{lab_ip(lab, node)}/linux/{distribution}"
        index = requests.get(f"{self.url}/dists/{release}/stable/binary-amd64/Packages", timeout=10)
        index.raise_for_status()
        self.versions = {}  # package -> its versions in the mirror, oldest first
        for stanza in index.text.strip().split("\n\n"):
            fields = dict(line.split(": ", 1) for line in stanza.splitlines() if ": " in line)
            self.versions.setdefault(fields["Package"], []).append(fields["Version"])
        for versions in self.versions.values():
            versions.sort(key=lambda v: v.split("-")[-1])

    def sh(self, node, cmd):
        rc, out = docker.from_env().containers.get(f"{self.lab}-{node}").exec_run(["sh", "-c", cmd])
        return rc, out.decode()

    def official(self, fingerprint=None, **extra):
        """The role's defaults (its package set), pointed at this mirror."""
        return {
            "docker_engine_source": "official",
            "docker_engine_repo_url": self.url,
            "docker_engine_repo_key_fingerprint": fingerprint or self.fingerprint,
            **extra,
        }

    def installed(self, node):
        """package -> version of the Docker packages dpkg has installed on the node."""
        rc, out = self.sh(node, "dpkg-query -W -f '${Package} ${Version} ${db:Status-Status}\\n' " + " ".join(PACKAGES + ["docker.io", "containerd", "runc", "docker-buildx", "docker-compose-v2"]))
        return {p: v for p, v, status in (line.split(" ") for line in out.splitlines() if line.count(" ") == 2) if status == "installed"}
