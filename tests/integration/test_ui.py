"""`swarmlab ui` on a real 3-node lab, in a real browser (Debian's chromium, driven by Playwright): the nodes and
WEB's tasks, a rolling update seen without reload, a drain, a node down, a label with markup, the manager's engine
stopped and started again, one poller for many pages, no join token in anything the server sends, a clean stop on
Ctrl-C. The tests share one server and one page and run in file order."""

import shutil
import subprocess
import threading
import time

import docker
import pytest
import requests

from swarmlab import api, paths
from swarmlab.runner import run_playbook
from tests import ui_server

pytestmark = pytest.mark.docker

LAB = "it-ui"
NODES = [{"name": "manager1", "role": "manager"}, {"name": "worker1", "role": "worker"}, {"name": "worker2", "role": "worker"}]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = paths.ROOT / "artifacts"
RUNNING_WEB = ".task[data-service='WEB'][data-state='running']:not(.old):not(.lost)"


def sh(node, cmd):
    rc, out = docker.from_env().containers.get(f"{LAB}-{node}").exec_run(["sh", "-c", cmd])
    assert rc == 0, out.decode()
    return out.decode().strip()


def start_ui(inventory, *args):
    return ui_server.start("-i", str(inventory), *args)


def wait_for(check, timeout, what, shown=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.25)
    pytest.fail(f"not within {timeout} s: {what}" + (f"; the page shows: {shown()}" if shown else ""))


@pytest.fixture(scope="module")
def lab(make_lab):
    # Engine installation is not what these tests check: the nodes start from the ready-made image.
    inventory = make_lab(LAB, "172.30.28.0/24", NODES, lab_nodes_ready=True)
    for playbook, extravars in (("site", {}), ("services", api.exercise("nginx"))):
        result = run_playbook(playbook, inventory, extravars)
        assert result.ok, result.failures or result.error
    return inventory


@pytest.fixture(scope="module")
def server(lab):
    proc, url = start_ui(lab)
    yield proc, url
    if proc.poll() is None:
        ui_server.stop(proc)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield b
        b.close()


@pytest.fixture(scope="module")
def page(server, browser):
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    page.goto(server[1])
    page.evaluate("window.loadedOnce = 42")  # gone if the page ever reloads
    yield page
    page.close()


def running_tags(page):
    return sorted(page.eval_on_selector_all(RUNNING_WEB, "cards => cards.map(c => c.dataset.tag)"))


def test_the_page_lists_the_nodes_and_webs_tasks(page):
    page.wait_for_function("document.querySelectorAll('.node[data-node]').length === 3", timeout=15000)
    assert page.eval_on_selector_all(".node", "cols => cols.map(c => c.dataset.node)") == ["manager1", "worker1", "worker2"]
    assert "leader" in page.inner_text(".node[data-node='manager1'] .role")
    assert running_tags(page) == ["1.12.1"] * 3
    row = page.locator("#services tr[data-service='WEB']")
    assert row.locator(".replicas").inner_text() == "3/3"
    assert "85→80/tcp (proxy)" in row.inner_text()  # no IPVS in the container lab: published by the proxy
    # A real request to every node's port 85, from the server.
    page.wait_for_function("document.querySelectorAll(\".badge.ok[data-port='85']\").length === 3", timeout=10000)


def test_no_join_token_in_anything_the_server_sends(lab, server):
    tokens = [sh("manager1", f"docker swarm join-token -q {role}") for role in ("worker", "manager")]
    url = server[1]
    sent = [requests.get(f"{url}{path}", timeout=5).text for path in ("/", "/static/ui.js", "/static/ui.css", "/api/poller")]
    with requests.get(f"{url}/events", stream=True, timeout=10) as r:
        lines = []
        for line in r.iter_lines(decode_unicode=True):  # up to the end of the first event
            lines.append(line)
            if line == "" and any(x.startswith("data:") for x in lines):
                break
    stream = "\n".join(lines)
    sent.append(stream)
    assert "event: snapshot" in sent[-1] and '"manager1"' in sent[-1]
    for text in sent:
        assert "SWMTKN-" not in text and not any(t in text for t in tokens)


def test_a_rolling_update_is_seen_without_reload(lab, page):
    done = {}
    updater = threading.Thread(target=lambda: done.update(r=api.update("WEB", "swarmlab/nginx:1.13.5", lab)))
    updater.start()
    seen, shot = set(), False
    while updater.is_alive():
        tags = running_tags(page)
        seen.add(tuple(tags))
        if not shot and "1.12.1" in tags and "1.13.5" in tags:  # mid-update: both images run
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "ui-update.png"), full_page=True)
            shot = True
        time.sleep(0.25)
    updater.join()
    assert done["r"].ok
    wait_for(lambda: running_tags(page) == ["1.13.5"] * 3, 5, "every WEB card on 1.13.5")
    assert any("1.12.1" in s and "1.13.5" in s for s in seen), f"the page never showed the update rolling: {seen}"
    assert shot
    assert page.evaluate("window.loadedOnce") == 42


def test_a_drained_node_shows_drain_and_no_web_task(lab, page):
    result = api.availability("worker2", "drain", lab)
    assert result.ok, result.failures or result.error
    column = page.locator(".node[data-node='worker2']")
    web = column.locator(".task[data-service='WEB']:not(.old)")
    wait_for(lambda: column.get_attribute("data-availability") == "drain", 5, "worker2 shown as drain")
    wait_for(lambda: web.count() == 0, 20, "no WEB task on worker2", lambda: [f"{c.get_attribute('class')}: {c.inner_text()}" for c in web.all()])
    assert "drain" in column.locator(".availability").inner_text()
    # Moved, not lost; the page shows Swarm's state at most once a second.
    wait_for(lambda: len(running_tags(page)) == 3, 5, "three WEB tasks running")


def test_a_node_that_goes_down_shows_its_tasks_lost_and_their_replacements(lab, page):
    """Swarm marks the stopped node's tasks shutdown but cannot stop them: they show as lost, not as stopping."""
    node = docker.from_env().containers.get(f"{LAB}-worker1")
    column = page.locator(".node[data-node='worker1']")
    assert column.locator(RUNNING_WEB).count() > 0
    node.stop()
    try:
        wait_for(lambda: "down" in column.locator(".status").inner_text(), 60, "worker1 shown down")
        wait_for(lambda: column.locator(".task.lost[data-service='WEB']").count() > 0, 30, "worker1's WEB tasks shown lost")
        assert "lost with the node" in column.locator(".task.lost").first.inner_text()
        assert column.locator(".task.stopping").count() == 0
        wait_for(lambda: len(running_tags(page)) == 3, 30, "WEB's 3 tasks running on the other nodes")
    finally:
        node.start()
    wait_for(lambda: "ready" in column.locator(".status").inner_text(), 60, "worker1 ready again")
    wait_for(lambda: column.locator(".task.lost").count() == 0, 30, "no lost task once worker1 is back")


def test_a_node_label_with_markup_shows_as_text(page):
    label = '<img src=x onerror="window.injected=1"><b>bold</b>'
    sh("manager1", f"docker node update --label-add 'note={label}' worker1")
    column = page.locator(".node[data-node='worker1']")
    wait_for(lambda: f"note={label}" in column.inner_text(), 5, "the label shown as text")
    assert column.locator("img, .label b").count() == 0
    assert page.evaluate("window.injected") is None


def test_the_page_says_when_the_swarm_cannot_be_reached_and_recovers(page):
    sh("manager1", "systemctl stop docker.socket docker")
    try:
        banner = page.locator("#banner")
        wait_for(banner.is_visible, 10, "the cannot-reach banner")
        assert "cannot reach the swarm: manager1:" in banner.inner_text()
        assert "stale" in page.get_attribute("body", "class")
    finally:
        sh("manager1", "systemctl start docker")
    wait_for(lambda: not page.locator("#banner").is_visible(), 60, "recovery once the engine is back")
    wait_for(lambda: len(running_tags(page)) == 3, 60, "WEB's 3 tasks shown again")
    assert page.evaluate("window.loadedOnce") == 42


def test_one_poller_reads_at_most_once_a_second_for_every_page(server, browser):
    url = server[1]
    others = [browser.new_page() for _ in range(3)]
    try:
        for p in others:
            p.goto(url)
            p.wait_for_selector(".node[data-node]")
        before = requests.get(f"{url}/api/poller", timeout=5).json()
        time.sleep(5)
        after = requests.get(f"{url}/api/poller", timeout=5).json()
    finally:
        for p in others:
            p.close()
    assert before["pages"] == after["pages"] == 4
    assert 2 <= after["reads"] - before["reads"] <= 6


def test_over_ssh_as_a_real_fleet_is_reached(lab):
    # The lab's second inventory: a non-root user, its key, recorded host keys and sudo, as real VMs are reached.
    proc, url = start_ui(lab.parent / "hosts-ssh.yml")
    try:
        view = ui_server.first_snapshot(url)
    finally:
        rc, out = ui_server.stop(proc)
    assert view["ok"], view["error"]
    assert view["manager"] == "manager1" and sorted(n["name"] for n in view["nodes"]) == ["manager1", "worker1", "worker2"]
    assert rc == 0, out


def test_ctrl_c_stops_the_server_cleanly(server):
    proc, url = server
    rc, out = ui_server.stop(proc)
    assert rc == 0 and "swarmlab ui stopped" in out and "Traceback" not in out, out
    leftover = subprocess.run(["pgrep", "-f", f"exec -i {LAB}-manager1 docker system dial-stdio"], capture_output=True, text=True)
    assert leftover.stdout == "", "relay processes outlived the server"
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{url}/api/poller", timeout=2)


def test_listening_beyond_loopback_is_warned_about(lab):
    proc, _ = start_ui(lab, "--host", "0.0.0.0")
    rc, out = ui_server.stop(proc)
    assert rc == 0 and "warning: listening on 0.0.0.0: anyone who reaches this machine sees the swarm" in out, out
