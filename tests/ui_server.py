"""`swarmlab ui` as a user starts it, for tests: started on a free port, its first snapshot, stopped with Ctrl-C."""

import json
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

CLI = str(Path(sys.executable).parent / "swarmlab")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(*args):
    """`swarmlab ui ARGS --port P`, once it answers: (process, base URL)."""
    port = free_port()
    proc = subprocess.Popen([CLI, "ui", *args, "--port", str(port)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        try:
            requests.get(f"http://127.0.0.1:{port}/api/poller", timeout=1)
            return proc, f"http://127.0.0.1:{port}"
        except requests.ConnectionError:
            time.sleep(0.2)
    proc.kill()
    pytest.fail("swarmlab ui did not listen within 30 s")


def stop(proc):
    """Ctrl-C: (exit code, everything it printed)."""
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=15)
    return proc.returncode, out + err


def first_snapshot(url):
    with requests.get(f"{url}/events", stream=True, timeout=30) as r:
        data = next(line for line in r.iter_lines(decode_unicode=True) if line.startswith("data:"))
    return json.loads(data.removeprefix("data:"))
