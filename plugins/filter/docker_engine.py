"""What dpkg already says about the engine's packages, so apt, the package hold and dockerd's feature check run
only when dpkg cannot answer for them."""

from __future__ import annotations

import re
from fnmatch import fnmatchcase
from typing import Any

# dpkg's selection letter (the first of ${db:Status-Abbrev}) for each name dpkg_selections takes.
SELECTIONS = {"install": "i", "hold": "h", "deinstall": "r", "purge": "p"}


def _installed(dpkg_lines: list[str]) -> dict[str, tuple[str, str]]:
    """name -> (version, selection letter) of the packages dpkg shows as installed ("ii", or "hi" when held)."""
    installed: dict[str, tuple[str, str]] = {}
    for line in dpkg_lines:
        parts = line.split(" ", 2)
        if len(parts) == 3 and len(status := parts[2].strip()) == 2 and status[1] == "i":
            installed[parts[0].split(":", 1)[0]] = (parts[1], status[0])
    return installed


def dpkg_missing(wanted: list[str], dpkg_lines: list[str]) -> list[str]:
    """`wanted`: apt names, NAME or NAME=VERSION (VERSION may hold apt's * wildcard); `dpkg_lines`: dpkg-query's
    "NAME VERSION STATUS" lines. Unknown names, virtual packages and half-installed ones count as missing."""
    installed = _installed(dpkg_lines)
    missing = []
    for item in wanted:
        name, version = item.partition("=")[::2]
        have = installed.get(name)
        if have is None or (version and not fnmatchcase(have[0], version)):
            missing.append(item)
    return missing


def dpkg_unselected(names: list[str], dpkg_lines: list[str], selection: str) -> list[str]:
    """The names dpkg does not show installed with this selection (hold, install): those dpkg_selections would change."""
    installed = _installed(dpkg_lines)
    return [n for n in names if n not in installed or installed[n][1] != SELECTIONS[selection]]


def dpkg_installed(dpkg_lines: list[str]) -> dict[str, str]:
    """name -> version of the packages dpkg shows as installed."""
    return {name: have[0] for name, have in _installed(dpkg_lines).items()}


def change_lines(changes: list[str], dpkg_lines: list[str], removed: list[str]) -> list[str]:
    """What apt would do to each package of `changes` (NAME or NAME=VERSION; the names in `removed` go), from what dpkg has."""
    installed = dpkg_installed(dpkg_lines)
    lines = []
    for item in changes:
        name, version = item.partition("=")[::2]
        have = installed.get(name, "not installed")
        lines.append(f"{name} {have} removed" if name in removed else f"{name} {have} → {version or 'newest'}")
    return lines


def upgrade_order(members: list[dict[str, Any]]) -> list[str]:
    """The order a rolling upgrade takes swarm members in: managers first, the leader last of them, then workers,
    each group in the given (inventory) order. `members`: {"host", "manager", "leader"}."""
    managers = [m for m in members if m.get("manager")]
    return [m["host"] for m in managers if not m.get("leader")] + [m["host"] for m in managers if m.get("leader")] + [
        m["host"] for m in members if not m.get("manager")
    ]


def dpkg_major(name: str, dpkg_lines: list[str]) -> int | None:
    """The upstream major version of an installed package (epoch and Debian revision left out); None if not installed."""
    have = _installed(dpkg_lines).get(name)
    match = re.match(r"(?:\d+:)?(\d+)", have[0]) if have else None
    return int(match.group(1)) if match else None


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {
            "docker_engine_dpkg_missing": dpkg_missing,
            "docker_engine_dpkg_unselected": dpkg_unselected,
            "docker_engine_dpkg_major": dpkg_major,
            "docker_engine_dpkg_installed": dpkg_installed,
            "docker_engine_upgrade_order": upgrade_order,
            "docker_engine_change_lines": change_lines,
        }
