"""Which manager is left over from before a recovery, and which hosts are to stay in the swarm: the swarm role, the
rolling upgrade, recovery, restore and verify ask the same rules."""

import json

import pytest

from tests.conftest import load_plugin


@pytest.fixture(scope="module")
def stale(root):
    return load_plugin(root / "plugins/filter/swarm.py", "swarm_filters").stale_manager


def swarm(manager=True, mark=None):
    labels = {"swarmlab-recovered": mark} if mark else None
    return {"ControlAvailable": manager, "Cluster": {"Spec": {"Labels": labels}}} if manager else {"ControlAvailable": False}


def test_a_manager_without_the_newest_mark_is_stale(stale):
    new, old = "2026-12-07T03:00:00Z", "2026-12-01T03:00:00Z"
    views = [swarm(mark=new), swarm(mark=old), swarm(), swarm(manager=False)]
    assert [stale(v, views) for v in views] == [False, True, True, False]


def test_no_recovery_no_stale_manager_and_unreadable_states_count_as_none(stale):
    views = [swarm(), json.dumps(swarm()), "", "not json"]
    assert [stale(v, views) for v in views] == [False, False, False, False]
    assert stale(json.dumps(swarm(mark="2026-12-01T03:00:00Z")), [swarm(mark="2026-12-07T03:00:00Z")]) is True


def test_present_hosts_keep_their_order_without_those_marked_absent(root):
    present = load_plugin(root / "plugins/filter/swarm.py", "swarm_filters").present
    hostvars = {"m1": {}, "m2": {"swarm_node_state": "absent"}, "m3": {"swarm_node_state": "present"}}
    assert present(["m3", "m2", "m1", "unknown"], hostvars) == ["m3", "m1", "unknown"]
    assert present(None, hostvars) == []
