"""lab_images' distribution plan: which sets of images the nodes lack, each saved once on this host; image IDs by tag."""

import pytest

from tests.conftest import load_plugin


@pytest.fixture(scope="module")
def sets(root):
    return load_plugin(root / "roles/lab_images/filter_plugins/lab_images.py", "lab_images_filters").lacking_sets


def info(*tags):
    """A node's docker_image_info result."""
    return {"images": [{"RepoTags": [t]} for t in tags]}


WANTED = ["swarmlab/nginx:1.12.1", "swarmlab/nginx:1.13.5", "swarmlab/haproxy:2.6"]


def test_nodes_lacking_the_same_images_share_one_set(sets):
    new = info()
    assert sets(WANTED, [new, new, new]) == [sorted(WANTED)]


def test_nodes_lacking_different_images_get_a_set_each_and_complete_nodes_none(sets):
    old = info("swarmlab/nginx:1.12.1", "swarmlab/haproxy:2.6")
    done = info(*WANTED)
    assert sets(WANTED, [done, info(), old, done]) == [sorted(WANTED), ["swarmlab/nginx:1.13.5"]]
    assert sets(WANTED, [done, done]) == []


def test_images_this_host_lacks_are_left_out(sets):
    assert sets(WANTED, [info()], available=["swarmlab/haproxy:2.6"]) == [["swarmlab/haproxy:2.6"]]
    assert sets(WANTED, [info()], available=[]) == []
    # An image with no tag (RepoTags null) matches nothing.
    assert sets(["a:1"], [{"images": [{"RepoTags": None}]}]) == [["a:1"]]


def test_image_ids_by_tag_cover_every_tag_and_skip_untagged_images(root):
    tag_ids = load_plugin(root / "roles/lab_images/filter_plugins/lab_images.py", "lab_images_filters").tag_ids
    images = [
        {"Id": "sha256:a", "RepoTags": ["swarmlab/nginx:1.12.1", "swarmlab/nginx:latest"]},
        {"Id": "sha256:b", "RepoTags": None},
        {"Id": "sha256:c", "RepoTags": ["swarmlab/haproxy:2.6"]},
    ]
    assert tag_ids(images) == {"swarmlab/nginx:1.12.1": "sha256:a", "swarmlab/nginx:latest": "sha256:a", "swarmlab/haproxy:2.6": "sha256:c"}
    assert tag_ids([]) == {}


def test_a_registry_image_is_built_here_by_its_plain_name(root):
    source = load_plugin(root / "roles/lab_images/filter_plugins/lab_images.py", "lab_images_filters").source
    assert source("lab-registry:5000/swarmlab/nginx:1.12.1", "lab-registry:5000") == "swarmlab/nginx:1.12.1"
    assert source("swarmlab/haproxy:2.6", "lab-registry:5000") == "swarmlab/haproxy:2.6"
    assert source("other:5000/swarmlab/nginx:1.12.1", "lab-registry:5000") == "other:5000/swarmlab/nginx:1.12.1"
    assert source("lab-registry:5000/x:1", "") == "lab-registry:5000/x:1"
