"""What `swarmlab ui` shows: nodes, services and tasks read from a manager's Engine API, and HTTP badges.

The API is reached the way Ansible reaches the manager (`docker exec` into a lab's container node, SSH with
the inventory's user, key and options otherwise): a local Unix socket relays each connection to
`docker system dial-stdio` on the manager, as Docker's own ssh:// contexts do. Read-only, and never the
/swarm endpoint, whose answer carries the join tokens.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import docker
import requests

from swarmlab import paths
from swarmlab.access import Access
from swarmlab.lab import LabError

# Tasks Swarm keeps as history (a slot's replaced tasks): the page hides them unless asked.
ENDED = ("shutdown", "complete", "orphaned", "remove")
PROBE_TIMEOUT = 1.0


@dataclass
class Bridge:
    """A Unix socket on this host; each connection to it is relayed to dial-stdio on the manager."""

    access: Access
    path: Path
    last_error: str = ""
    _server: asyncio.AbstractServer | None = None
    _procs: set[asyncio.subprocess.Process] = field(default_factory=set)

    async def start(self) -> None:
        self._server = await asyncio.start_unix_server(self._relay, path=str(self.path))

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        # Its own session: Ctrl-C reaches the server, which ends these itself.
        proc = await asyncio.create_subprocess_exec(
            *self.access.argv, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE, start_new_session=True,
        )
        self._procs.add(proc)
        assert proc.stdin and proc.stdout and proc.stderr

        async def pump(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            while data := await src.read(65536):
                dst.write(data)
                await dst.drain()

        up = asyncio.ensure_future(pump(reader, proc.stdin))
        down = asyncio.ensure_future(pump(proc.stdout, writer))
        errors = asyncio.ensure_future(proc.stderr.read())
        try:
            await asyncio.wait({up, down}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (up, down):
                task.cancel()
            # EOF ends dial-stdio (and the request it carried) by itself; a signal only when it does not. Signalling
            # a command that has just ended reaps it behind asyncio's back (Popen.send_signal polls first).
            proc.stdin.close()
            try:
                rc = await asyncio.wait_for(proc.wait(), 5)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    proc.terminate()
                rc = await proc.wait()
            stderr = (await errors).decode(errors="replace").strip()
            if rc not in (0, -15) and stderr:
                self.last_error = " ".join(stderr.splitlines()[-1].split())
            self._procs.discard(proc)
            writer.close()

    async def close(self) -> None:
        if self._server:
            self._server.close()
        for proc in list(self._procs):
            with contextlib.suppress(ProcessLookupError):
                proc.terminate()
        for proc in list(self._procs):
            await proc.wait()


def _load_model() -> ModuleType:
    """The collection's Swarm model (plugins/module_utils/swarm_model.py, plain Python): the page reads services,
    tasks and addresses by the rules verify, the wait module and the drain check use."""
    path = paths.ROOT / "plugins" / "module_utils" / "swarm_model.py"
    spec = importlib.util.spec_from_file_location("swarmlab_swarm_model", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


model = _load_model()
_image = model.image_name
_addr = model.node_addr


def _tag(ref: str) -> str:
    name = _image(ref)
    last = name.rsplit("/", 1)[-1]
    return last.split(":", 1)[1] if ":" in last else "latest"


def shape(nodes: list[dict[str, Any]], services: list[dict[str, Any]], tasks: list[dict[str, Any]]) -> dict[str, Any]:
    """The page's data from the Engine API's /nodes, /services and /tasks: only what the page shows."""
    names = {s["ID"]: s["Spec"]["Name"] for s in services}
    out_nodes = []
    for n in nodes:
        spec, desc, manager = n.get("Spec", {}), n.get("Description", {}), n.get("ManagerStatus") or {}
        out_nodes.append({
            "id": n["ID"],
            "name": desc.get("Hostname", n["ID"][:12]),
            "role": spec.get("Role", ""),
            "leader": bool(manager.get("Leader")),
            "reachability": manager.get("Reachability", ""),
            "availability": spec.get("Availability", ""),
            "status": n.get("Status", {}).get("State", ""),
            "message": n.get("Status", {}).get("Message", ""),
            "engine": desc.get("Engine", {}).get("EngineVersion", ""),
            "addr": _addr(n),
            "labels": spec.get("Labels") or {},
        })
    out_nodes.sort(key=lambda n: (n["role"] != "manager", n["name"]))

    down = {n["id"] for n in out_nodes if n["status"] == "down"}
    out_tasks = []
    newest_failed: dict[tuple[str, Any], str] = {}
    newest_running: dict[tuple[str, Any], str] = {}  # by creation: a failure before it is one the slot got over
    for t in tasks:
        status = t.get("Status", {})
        slot = t.get("Slot") or t.get("NodeID", "")
        key = (t.get("ServiceID", ""), slot)
        if status.get("State") in ("failed", "rejected") and t.get("UpdatedAt", "") > newest_failed.get(key, ""):
            newest_failed[key] = t.get("UpdatedAt", "")
        if status.get("State") == "running" and t.get("DesiredState") == "running":
            newest_running[key] = max(newest_running.get(key, ""), _created(t))
    for t in tasks:
        status = t.get("Status", {})
        state = status.get("State", "")
        slot = t.get("Slot") or t.get("NodeID", "")
        image = t.get("Spec", {}).get("ContainerSpec", {}).get("Image", "")
        # Still there (a task being stopped too); failed ones only as the latest of their slot.
        current = state not in (*ENDED, "failed", "rejected")
        key = (t.get("ServiceID", ""), slot)
        last_failure = (state in ("failed", "rejected") and newest_failed.get(key) == t.get("UpdatedAt")
                        and _created(t) > newest_running.get(key, ""))
        out_tasks.append({
            "id": t["ID"],
            "service": names.get(t.get("ServiceID", ""), t.get("ServiceID", "")[:12]),
            "slot": t.get("Slot"),
            "node": t.get("NodeID", ""),
            "image": _image(image),
            "tag": _tag(image),
            "state": state,
            "desired": t.get("DesiredState", ""),
            "error": status.get("Err", ""),
            "message": status.get("Message", ""),
            "updated": t.get("UpdatedAt", ""),
            "old": not (current or last_failure),
            # Swarm moved it off a node that is down: its last known state stays until the node is back.
            "lost": current and t.get("DesiredState") != "running" and t.get("NodeID") in down,
        })
    out_tasks.sort(key=lambda t: (t["service"], t["slot"] or 0, t["updated"]))

    running: dict[str, int] = {}
    for t in out_tasks:
        if t["state"] == "running" and t["desired"] == "running":
            running[t["service"]] = running.get(t["service"], 0) + 1
    by_name = {s["Spec"]["Name"]: s for s in services}
    out_services = []
    for s in services:
        spec = s["Spec"]
        name = spec["Name"]
        if model.proxied(name, by_name):
            continue  # shown with the service it publishes
        out_services.append(_service(s, running, by_name.get(model.proxy_name(name)), nodes))
    out_services.sort(key=lambda s: s["name"])
    return {"nodes": out_nodes, "services": out_services, "tasks": out_tasks}


def _ports(service: dict[str, Any]) -> list[dict[str, Any]]:
    ports = service.get("Endpoint", {}).get("Ports") or service["Spec"].get("EndpointSpec", {}).get("Ports") or []
    return [{"published": p.get("PublishedPort"), "target": p.get("TargetPort"), "protocol": p.get("Protocol", "tcp"),
             "mode": p.get("PublishMode", "ingress")} for p in ports if p.get("PublishedPort")]


def _service(s: dict[str, Any], running: dict[str, int], proxy: dict[str, Any] | None, nodes: list[dict[str, Any]]) -> dict[str, Any]:
    spec = s["Spec"]
    name = spec["Name"]
    mode = spec.get("Mode", {})
    desired = model.tasks_wanted(s, nodes)  # global: one task on every node that takes tasks and its placement allows
    ports = _ports(s)
    if proxy:
        # The proxy publishes each port to itself; its label says where it forwards (published:target).
        targets = dict(pair.split(":", 1) for pair in proxy["Spec"].get("Labels", {}).get("org.swarmlab.publish", "").split() if ":" in pair)
        ports += [{**p, "target": int(targets.get(str(p["published"]), p["target"])), "mode": "proxy"} for p in _ports(proxy)]
    update = s.get("UpdateStatus") or {}
    return {
        "name": name,
        "image": _image(spec.get("TaskTemplate", {}).get("ContainerSpec", {}).get("Image", "")),
        "mode": "global" if "Global" in mode else "replicated",
        "desired": desired,
        "running": running.get(name, 0),
        "ports": ports,
        "update": {"state": update.get("State", ""), "message": update.get("Message", "")} if update else None,
        "proxy": {"name": proxy["Spec"]["Name"], "running": running.get(proxy["Spec"]["Name"], 0)} if proxy else None,
    }


def _created(task: dict[str, Any]) -> str:
    return task.get("CreatedAt") or task.get("UpdatedAt", "")


def _probe(url: str) -> dict[str, Any]:
    try:
        r = requests.get(url, timeout=PROBE_TIMEOUT, allow_redirects=False)
    except requests.Timeout:
        return {"ok": False, "detail": "no answer within 1 s"}
    except requests.ConnectionError:
        return {"ok": False, "detail": "connection refused or unreachable"}
    # As the checks judge a published port: anything below 500 is the service answering.
    return {"ok": r.status_code < 500, "detail": f"HTTP {r.status_code}"}


def badges(view: dict[str, Any], pool: ThreadPoolExecutor) -> list[dict[str, Any]]:
    """A real HTTP request to every node's address on every TCP port a service publishes."""
    ports = sorted({p["published"] for s in view["services"] for p in s["ports"] if p["protocol"] == "tcp"})
    targets = [(n["name"], n["addr"], port) for n in view["nodes"] if n["addr"] for port in ports]
    results = pool.map(lambda t: _probe(f"http://{t[1]}:{t[2]}/"), targets)
    return [{"node": name, "port": port, **res} for (name, _, port), res in zip(targets, results, strict=True)]


@dataclass
class Reader:
    """Reads the swarm through the first manager that answers (the one that answered last goes first)."""

    bridges: list[Bridge]
    _client: docker.APIClient | None = None
    _current: int = 0
    _pool: ThreadPoolExecutor = field(default_factory=lambda: ThreadPoolExecutor(max_workers=16))

    def read(self) -> dict[str, Any]:
        errors = []
        order = [self._current] + [i for i in range(len(self.bridges)) if i != self._current]
        for i in order:
            bridge = self.bridges[i]
            try:
                if self._client is None or i != self._current:
                    self._close_client()
                    self._client = docker.APIClient(base_url=f"unix://{bridge.path}", version="auto", timeout=5)
                    self._current = i
                view = shape(self._client.nodes(), self._client.services(), self._client.tasks())
            except (docker.errors.DockerException, requests.RequestException, OSError) as exc:
                self._close_client()
                errors.append(f"{bridge.access.host}: {_reason(exc, bridge)}")
                continue
            view["badges"] = badges(view, self._pool)
            return {"ok": True, "manager": bridge.access.host, "error": "", **view}
        return {"ok": False, "manager": "", "error": "cannot reach the swarm: " + "; ".join(errors),
                "nodes": [], "services": [], "tasks": [], "badges": []}

    def _close_client(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def close(self) -> None:
        self._close_client()
        self._pool.shutdown(wait=False, cancel_futures=True)


def _reason(exc: Exception, bridge: Bridge) -> str:
    if isinstance(exc, docker.errors.APIError):  # the engine answered: e.g. not a swarm manager
        return " ".join(str(exc.explanation or exc).split())
    for _ in range(20):  # the relay records why its command ended just after the client sees it end
        if bridge.last_error:
            break
        time.sleep(0.05)
    if bridge.last_error:  # what ssh, docker exec or dial-stdio said
        reason, bridge.last_error = bridge.last_error, ""
        return reason
    return " ".join(str(exc).split())[:300] or type(exc).__name__


@contextlib.contextmanager
def manager_client(accesses: list[Access], timeout: float = 10) -> Iterator[tuple[str, docker.APIClient]]:
    """An Engine API client on the first manager that answers as one (inventory order), through a Bridge run on an
    event loop of its own: `swarmlab ps` and `logs` reach the swarm as the UI does. Closing it ends the relay and
    with it dial-stdio on the manager, so a followed log stops there too."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    bridges: list[Bridge] = []
    client: docker.APIClient | None = None
    try:
        with tempfile.TemporaryDirectory(prefix="swarmlab-") as tmp:  # mode 0700: the sockets are the engines'
            errors = []
            for i, a in enumerate(accesses):
                bridge = Bridge(a, Path(tmp) / f"{i}.sock")
                asyncio.run_coroutine_threadsafe(bridge.start(), loop).result()
                bridges.append(bridge)
                try:
                    client = docker.APIClient(base_url=f"unix://{bridge.path}", version="auto", timeout=timeout)
                    if not client.info().get("Swarm", {}).get("ControlAvailable"):
                        raise docker.errors.DockerException("not a swarm manager")
                except (docker.errors.DockerException, requests.RequestException, OSError) as exc:
                    errors.append(f"{a.host}: {_reason(exc, bridge)}")
                    if client is not None:
                        client.close()
                    client = None
                    continue
                yield a.host, client
                break
            else:
                raise LabError("cannot reach the swarm: " + "; ".join(errors))
    finally:
        if client is not None:
            client.close()
        for bridge in bridges:
            asyncio.run_coroutine_threadsafe(bridge.close(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()


def service_of(client: docker.APIClient, name: str) -> dict[str, Any]:
    try:
        return client.inspect_service(name)
    except docker.errors.NotFound:
        known = sorted(s["Spec"]["Name"] for s in client.services())
        raise LabError(f"no service {name!r} in the swarm; its services: {', '.join(known) or 'none'}") from None


def service_tasks(client: docker.APIClient, name: str, running: bool = False) -> list[dict[str, Any]]:
    """A service's tasks as the page shows them (shape), with node names: `docker service ps`, history included
    unless `running`."""
    service = service_of(client, name)
    filters = {"service": service["ID"], **({"desired-state": "running"} if running else {})}
    nodes = {n["id"]: n["name"] for n in shape(client.nodes(), [], [])["nodes"]}
    tasks = shape([], [service], client.tasks(filters=filters))["tasks"]
    return [{**t, "node": nodes.get(t["node"], t["node"][:12])} for t in tasks]


def service_logs(client: docker.APIClient, name: str, tail: int, follow: bool) -> Iterator[str]:
    """`docker service logs`: each line prefixed with its task and node as Docker's CLI does (NAME.SLOT@NODE)."""
    service = service_of(client, name)
    client.timeout = None  # a followed log waits for lines as long as the user does
    names: dict[str, str] = {}
    for chunk in client.service_logs(service["ID"], details=True, follow=follow, stdout=True, stderr=True, tail=tail):
        for raw in chunk.decode(errors="replace").splitlines():
            details, _, line = raw.partition(" ")
            attrs = dict(kv.split("=", 1) for kv in details.split(",") if "=" in kv)
            task = attrs.get("com.docker.swarm.task.id", "")
            if task and task not in names:
                names |= _task_names(client, service)
            yield f"{names.get(task, task[:12])} | {line}"


def _task_names(client: docker.APIClient, service: dict[str, Any]) -> dict[str, str]:
    nodes = {n["ID"]: n.get("Description", {}).get("Hostname", n["ID"][:12]) for n in client.nodes()}
    name = service["Spec"]["Name"]
    return {t["ID"]: f"{name}.{t.get('Slot') or t.get('NodeID', '')}.{t['ID'][:12]}@{nodes.get(t.get('NodeID', ''), '?')}"
            for t in client.tasks(filters={"service": service["ID"]})}
