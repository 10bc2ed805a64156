"""`swarmlab lab context`'s one change to the user's SSH configuration: an Include line, first, once."""

import stat

from swarmlab import context


def test_the_include_line_goes_first_once_and_keeps_what_was_there(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    config = tmp_path / ".ssh" / "config"
    config.parent.mkdir()
    config.write_text("Host example\n  User someone\n")

    assert context._include_in_ssh_config() is True
    assert context._include_in_ssh_config() is False
    lines = config.read_text().splitlines()
    assert lines.count(context.include_line()) == 1
    # Before any Host block: there it applies to every host.
    assert lines.index(context.include_line()) < lines.index("Host example")
    assert lines[-2:] == ["Host example", "  User someone"]
    assert stat.S_IMODE(config.stat().st_mode) == 0o600


def test_no_ssh_directory_is_made_private(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    assert context._include_in_ssh_config() is True
    assert stat.S_IMODE((tmp_path / ".ssh").stat().st_mode) == 0o700
    assert context.include_line() in (tmp_path / ".ssh" / "config").read_text()


def test_context_names_follow_the_lab():
    assert context.name_for("swarmlab") == "swarmlab"
    assert context.name_for("dev1") == "swarmlab-dev1"
