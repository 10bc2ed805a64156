#!/usr/bin/env python3
"""Builds a signed apt repository in Docker's layout whose packages carry Docker's names and version strings
(docker-ce, docker-ce-cli, containerd.io, docker-buildx-plugin, docker-compose-plugin), from the
distribution's own docker.io, containerd, runc, tini and, where the release has them, docker-buildx and
docker-compose-v2: Docker's repository is out of reach here. Runs on the mirror node.

usage: repack_docker_ce.py INCOMING BASE REVISION [REVISION ...]
  INCOMING  the distribution's .deb files (apt-get download)
  BASE      the repository root (<BASE>/dists/<codename>/stable, <BASE>/pool/stable)
  REVISION  one docker-ce and docker-ce-cli build per revision: 5:<docker.io's version>-<REVISION>~<id>.<ver>~<codename>
GNUPGHOME holds the signing key.
"""

import glob
import itertools
import os
import re
import shutil
import subprocess
import sys
import tempfile

CLI_FILES = (
    "usr/bin/docker",
    "usr/share/bash-completion/completions/docker",
    "usr/share/zsh/vendor-completions/_docker",
    "usr/share/fish/vendor_completions.d/docker.fish",
)
MAINTAINER = "swarmlab test mirror <mirror@swarmlab.test>"

# Maintainer scripts in the shape Docker's packages have (debhelper's systemd handling).
POSTINST = """#!/bin/sh
set -e
if [ "$1" = configure ]; then{first}
    deb-systemd-helper unmask {units} >/dev/null || true
    deb-systemd-helper enable {units} >/dev/null || true
    if [ -d /run/systemd/system ]; then
        systemctl --system daemon-reload >/dev/null || true
        if [ -n "$2" ]; then action=restart; else action=start; fi
        deb-systemd-invoke $action {units} >/dev/null || true
    fi
fi
"""
PRERM = """#!/bin/sh
set -e
if [ "$1" = remove ] && [ -d /run/systemd/system ]; then
    deb-systemd-invoke stop {units} >/dev/null || true
fi
"""
POSTRM = """#!/bin/sh
set -e
if [ "$1" = purge ]; then deb-systemd-helper purge {units} >/dev/null || true; fi
if [ -d /run/systemd/system ]; then systemctl --system daemon-reload >/dev/null || true; fi
"""


def service_scripts(units, first=""):
    """postinst, prerm and postrm for a package whose systemd units start at install and stop at removal."""
    return {
        "postinst": POSTINST.format(units=units, first=first and f"\n    {first}"),
        "prerm": PRERM.format(units=units),
        "postrm": POSTRM.format(units=units),
    }


def cli_file(rel):
    return rel in CLI_FILES or rel.startswith("usr/share/man/man1/")


def run(*argv, **kw):
    return subprocess.run(argv, check=True, text=True, stdout=subprocess.PIPE, **kw).stdout


def os_release():
    values = {}
    with open("/etc/os-release") as f:
        for line in f:
            key, _, value = line.strip().partition("=")
            values[key] = value.strip('"')
    return values


def upstream(version):
    """20.10.24+dfsg1-1+deb12u1 -> 20.10.24: the version of the software inside, as Docker's versions carry it."""
    return re.match(r"(?:\d+:)?([0-9]+(?:\.[0-9]+)*)", version).group(1)


class Source:
    """One of the distribution's packages, unpacked."""

    def __init__(self, deb, work):
        self.name = run("dpkg-deb", "-f", deb, "Package").strip()
        self.fields = {k: run("dpkg-deb", "-f", deb, k).strip() for k in ("Version", "Depends", "Recommends")}
        self.root = os.path.join(work, "src", self.name)
        os.makedirs(self.root)
        run("dpkg-deb", "-x", deb, self.root)
        os.makedirs(os.path.join(self.root, "DEBIAN"))
        run("dpkg-deb", "-e", deb, os.path.join(self.root, "DEBIAN"))

    def files(self):
        for dirpath, _, names in os.walk(self.root):
            for n in names:
                rel = os.path.relpath(os.path.join(dirpath, n), self.root)
                if not rel.startswith(("DEBIAN/", "usr/share/doc/", "usr/share/lintian/")):
                    yield rel

    def conffiles(self):
        path = os.path.join(self.root, "DEBIAN", "conffiles")
        return open(path).read().split() if os.path.exists(path) else []


def depends_without(field, names):
    """A Depends/Recommends field without the alternatives that name any of these packages."""
    kept = []
    for clause in filter(None, (c.strip() for c in field.split(","))):
        if clause not in kept and not any(re.match(rf"{re.escape(n)}(\s|\(|$|:)", alt.strip()) for alt in clause.split("|") for n in names):
            kept.append(clause)
    return ", ".join(kept)


class Package:
    def __init__(self, work, name, version, arch):
        self.name, self.version, self.arch = name, version, arch
        self.root = os.path.join(work, "out", f"{name}_{version}")
        self.fields, self.conffiles, self.scripts = {}, [], {}
        os.makedirs(os.path.join(self.root, "DEBIAN"))

    def take(self, src, rel, as_rel=None):
        """Copies a file of a source package; a link into another package is replaced by what it points to."""
        dest = os.path.join(self.root, as_rel or rel)
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        shutil.copy2(os.path.join(src.root, rel), dest, follow_symlinks=False)
        if "/" + rel in src.conffiles():
            self.conffiles.append("/" + rel)

    def build(self, pool, description):
        doc = os.path.join(self.root, "usr/share/doc", self.name)
        os.makedirs(doc, exist_ok=True)
        with open(os.path.join(doc, "README.swarmlab"), "w") as f:
            f.write(f"{description}\n")
        size = int(run("du", "-sk", "--exclude=DEBIAN", self.root).split()[0])
        control = {
            "Package": self.name,
            "Version": self.version,
            "Architecture": self.arch,
            "Maintainer": MAINTAINER,
            "Installed-Size": str(size),
            **{k: v for k, v in self.fields.items() if v},
            "Section": "admin",
            "Priority": "optional",
            "Description": description,
        }
        debian = os.path.join(self.root, "DEBIAN")
        with open(os.path.join(debian, "control"), "w") as f:
            f.writelines(f"{k}: {v}\n" for k, v in control.items())
        if self.conffiles:
            with open(os.path.join(debian, "conffiles"), "w") as f:
                f.writelines(f"{c}\n" for c in self.conffiles)
        for script, text in self.scripts.items():
            path = os.path.join(debian, script)
            with open(path, "w") as f:
                f.write(text)
            os.chmod(path, 0o755)
        out = os.path.join(pool, f"{self.name}_{self.version.partition(':')[2] or self.version}_{self.arch}.deb")
        run("dpkg-deb", "--root-owner-group", "-Zgzip", "-z1", "-b", self.root, out)


def main(incoming, base, revisions):
    rel = os_release()
    dist, codename, release = rel["ID"], rel["VERSION_CODENAME"], rel["VERSION_ID"]
    arch = run("dpkg", "--print-architecture").strip()
    suffix = f"~{dist}.{release}~{codename}"
    pool = os.path.join(base, "pool", "stable")
    os.makedirs(pool, exist_ok=True)
    with tempfile.TemporaryDirectory() as work:
        src = {s.name: s for s in (Source(d, work) for d in sorted(glob.glob(os.path.join(incoming, "*.deb"))))}
        engine, containerd, runc, tini = src["docker.io"], src["containerd"], src["runc"], src["tini"]
        origin = f"repackaged from {dist} {codename}'s"
        # containerd.io: containerd and runc in one package, as Docker ships them.
        ctd_version = f"{upstream(containerd.fields['Version'])}-1"
        ctd = Package(work, "containerd.io", ctd_version, arch)
        for s in (containerd, runc):
            for f in s.files():
                ctd.take(s, f)
        ctd.fields.update(
            Depends=depends_without(f"{containerd.fields['Depends']}, {runc.fields['Depends']}", ["runc"]),
            Provides="containerd, runc",
            Conflicts="containerd, runc",
            Replaces="containerd, runc",
        )
        ctd.scripts = service_scripts("containerd.service")
        ctd.build(pool, f"An open and reliable container runtime ({origin} containerd {containerd.fields['Version']} and runc {runc.fields['Version']})")

        engine_up = upstream(engine.fields["Version"])
        for revision in revisions:
            version = f"5:{engine_up}-{revision}{suffix}"
            cli = Package(work, "docker-ce-cli", version, arch)
            for f in filter(cli_file, engine.files()):
                cli.take(engine, f)
            cli.fields.update(
                Depends=", ".join(c for c in engine.fields["Depends"].split(", ") if c.startswith("libc6")),
                Conflicts="docker (<< 1.5~), docker-engine, docker.io",
                Replaces="docker-ce (<< 5:0)",
                Breaks="docker-ce (<< 5:0)",
            )
            cli.build(pool, f"Docker CLI: the open-source application container engine ({origin} docker.io {engine.fields['Version']})")

            ce = Package(work, "docker-ce", version, arch)
            for f in itertools.filterfalse(cli_file, engine.files()):
                link = os.path.join(engine.root, f)
                if os.path.islink(link) and os.readlink(link) == "tini-static":
                    ce.take(tini, "usr/bin/tini-static", f)  # docker-init is tini, in docker-ce itself
                else:
                    ce.take(engine, f)
            ce.fields.update(
                Depends=", ".join(
                    ["containerd.io (>= 1.4)", "docker-ce-cli"]
                    + [depends_without(engine.fields["Depends"], ["containerd", "runc", "tini"])]
                ),
                Recommends=depends_without(engine.fields["Recommends"], ["docker-ce-rootless-extras"]),
                Conflicts="docker (<< 1.5~), docker-engine, docker.io",
                Replaces="docker-engine",
            )
            ce.scripts = service_scripts("docker.socket docker.service", first="getent group docker >/dev/null || groupadd --system docker")
            ce.build(pool, f"Docker: the open-source application container engine ({origin} docker.io {engine.fields['Version']})")

        for plugin, name in (("docker-buildx", "docker-buildx-plugin"), ("docker-compose-v2", "docker-compose-plugin")):
            s = src.get(plugin)
            pkg = Package(work, name, f"{upstream(s.fields['Version']) if s else '0'}-1{suffix}", arch)
            if s:  # the release has the plugin: its binary, where the Docker CLI looks for plugins
                for f in s.files():
                    if f.startswith("usr/libexec/docker/cli-plugins/"):
                        pkg.take(s, f)
                # Ubuntu's docker-buildx depends on its docker.io; Docker's plugin packages depend on no engine.
                pkg.fields["Depends"] = depends_without(s.fields["Depends"], ["docker.io", "docker-cli"])
                what = f"{origin} {plugin} {s.fields['Version']}"
            else:
                what = f"{dist} {codename} has no {plugin} package: this one installs no plugin"
            pkg.fields["Enhances"] = "docker-ce-cli"
            pkg.build(pool, f"Docker CLI plugin ({what})")

        index(base, dist, codename, arch)


def index(base, dist, codename, arch):
    """Packages and a signed Release, as apt reads them."""
    binary = os.path.join(base, "dists", codename, "stable", f"binary-{arch}")
    os.makedirs(binary, exist_ok=True)
    packages = run("apt-ftparchive", "packages", "pool/stable", cwd=base)
    with open(os.path.join(binary, "Packages"), "w") as f:
        f.write(packages)
    run("gzip", "-kf", os.path.join(binary, "Packages"))
    dists = os.path.join(base, "dists", codename)
    release = run(
        "apt-ftparchive",
        "-o", "APT::FTPArchive::Release::Origin=swarmlab-test",
        "-o", "APT::FTPArchive::Release::Label=swarmlab-test",
        "-o", f"APT::FTPArchive::Release::Suite={codename}",
        "-o", f"APT::FTPArchive::Release::Codename={codename}",
        "-o", "APT::FTPArchive::Release::Components=stable",
        "-o", f"APT::FTPArchive::Release::Architectures={arch}",
        "release", ".",
        cwd=dists,
    )
    with open(os.path.join(dists, "Release"), "w") as f:
        f.write(release)
    for path in ("InRelease", "Release.gpg"):
        if os.path.exists(os.path.join(dists, path)):
            os.remove(os.path.join(dists, path))
    run("gpg", "--batch", "--clearsign", "-o", "InRelease", "Release", cwd=dists)
    run("gpg", "--batch", "-abs", "-o", "Release.gpg", "Release", cwd=dists)
    print(f"{dist} {codename}: " + ", ".join(sorted(os.listdir(os.path.join(base, "pool", "stable")))))


if __name__ == "__main__":
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2], sys.argv[3:])
