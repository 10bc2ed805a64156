"""A lab keeps how its nodes were made (driver, --ready, memory) until `lab down`: a flag given wins, then the lab's
own record, then the default; what a flag changes is named."""

import json

import pytest

from swarmlab import api, paths


@pytest.fixture
def state(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    folder = paths.lab_state("swarmlab")
    folder.mkdir(parents=True)
    return folder


def test_no_record_no_flags_gives_the_defaults(state):
    made = api.lab_made()
    assert (made.driver, made.ready, made.memory, made.kept, made.changed) == ("container", False, "", [], [])


def test_the_record_decides_what_no_flag_says(state):
    (state / api.MADE).write_text(json.dumps({"driver": "container", "ready": True, "memory": "768m"}))
    made = api.lab_made()
    assert (made.driver, made.ready, made.memory) == ("container", True, "768m")
    assert made.kept == ["--ready", "--memory 768m"] and made.changed == []


def test_a_flag_wins_and_is_named_with_what_it_changes(state):
    (state / api.MADE).write_text(json.dumps({"driver": "container", "ready": True, "memory": ""}))
    made = api.lab_made(ready=False, memory="1g")
    assert (made.ready, made.memory) == (False, "1g")
    assert made.changed == [("--ready", "--no-ready"), ("no --memory", "--memory 1g")] and made.kept == []
    assert api.lab_made(ready=True).changed == []  # the same as the record: nothing changes


def test_an_unreadable_record_counts_as_none(state):
    (state / api.MADE).write_text("{not json")
    assert api.lab_made().ready is False


def test_a_registry_is_kept_like_the_other_flags(state):
    (state / api.MADE).write_text(json.dumps({"driver": "container", "ready": True, "memory": "", "registry": True}))
    made = api.lab_made()
    assert made.registry is True and made.kept == ["--ready", "--registry"]
    assert api.lab_made(registry=False).changed == [("--registry", "--no-registry")]
    assert api.lab_vars(registry=True)["lab_nodes_registry"] is True and "lab_nodes_registry" not in api.lab_vars()
