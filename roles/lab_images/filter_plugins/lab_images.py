"""Which images each node lacks, as sets shared between nodes: this host saves one bundle per set, once; image IDs by tag."""

from __future__ import annotations

from typing import Any


def lacking_sets(wanted: list[str], node_infos: list[dict[str, Any]], available: list[str] | None = None) -> list[list[str]]:
    """`node_infos`: each node's docker_image_info result; `available`: the tags this host has (unset: any).
    One sorted list per distinct set of wanted images some node lacks (and this host has), in node order."""
    sets: list[list[str]] = []
    for info in node_infos:
        have = {tag for image in (info or {}).get("images", []) for tag in image.get("RepoTags") or []}
        lacking = sorted({w for w in wanted if w not in have and (available is None or w in available)})
        if lacking and lacking not in sets:
            sets.append(lacking)
    return sets


def tag_ids(images: list[dict[str, Any]]) -> dict[str, str]:
    """docker_image_info's images as {tag: image ID}, for every tag each image has."""
    return {tag: image["Id"] for image in images for tag in image.get("RepoTags") or []}


def source(image: str, registry: str | None) -> str:
    """The image this host built for `image`: its name without the lab registry's HOST:PORT/ (if it has one)."""
    prefix = f"{registry}/" if registry else ""
    return image[len(prefix):] if prefix and image.startswith(prefix) else image


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {"lab_images_lacking_sets": lacking_sets, "lab_images_tag_ids": tag_ids, "lab_images_source": source}
