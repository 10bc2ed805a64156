"""Which of the wanted packages dpkg does not show as installed, so apt (and its package list refresh) runs only
when something is to be installed."""

from __future__ import annotations

from fnmatch import fnmatchcase
from typing import Any


def dpkg_missing(wanted: list[str], dpkg_lines: list[str]) -> list[str]:
    """`wanted`: apt names, NAME or NAME=VERSION (VERSION may hold apt's * wildcard); `dpkg_lines`: dpkg-query's
    "NAME VERSION STATUS" lines. Unknown names, virtual packages and half-installed ones count as missing."""
    installed: dict[str, str] = {}
    for line in dpkg_lines:
        parts = line.split(" ", 2)
        if len(parts) == 3 and parts[2].strip() == "ii":
            installed[parts[0].split(":", 1)[0]] = parts[1]
    missing = []
    for item in wanted:
        name, _, version = item.partition("=")
        have = installed.get(name)
        if have is None or (version and not fnmatchcase(have, version)):
            missing.append(item)
    return missing


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {"docker_engine_dpkg_missing": dpkg_missing}
