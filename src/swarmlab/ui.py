"""`swarmlab ui`: a live web page of the swarm's nodes, tasks and services (read-only).

One poller per server reads the swarm at most once a second, only while a page is open, and pushes each
change to every open page as a server-sent event. The page (static/) builds its DOM from text, never markup.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import socket
import tempfile
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import uvicorn
from sse_starlette.sse import EventSourceResponse
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from swarmlab.access import Access
from swarmlab.lab import LabError
from swarmlab.swarmview import Bridge, Reader

STATIC = Path(__file__).parent / "static"
INTERVAL = 1.0  # seconds between the starts of two reads, at least


class Poller:
    def __init__(self, accesses: list[Access], interval: float = INTERVAL):
        self.accesses = accesses
        self.interval = interval
        self.snapshot: dict[str, Any] | None = None
        self.version = 0
        self.reads = 0
        self.pages = 0
        self._changed = asyncio.Condition()
        self._watched = asyncio.Event()
        self._bridges: list[Bridge] = []
        self._reader: Reader | None = None
        self._task: asyncio.Task[None] | None = None
        self._dir: tempfile.TemporaryDirectory[str] | None = None

    async def start(self) -> None:
        self._dir = tempfile.TemporaryDirectory(prefix="swarmlab-ui-")  # mode 0700: the sockets are the engines'
        self._bridges = [Bridge(a, Path(self._dir.name) / f"{i}.sock") for i, a in enumerate(self.accesses)]
        for bridge in self._bridges:
            await bridge.start()
        self._reader = Reader(self._bridges)
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._reader:
            self._reader.close()
        for bridge in self._bridges:
            await bridge.close()
        if self._dir:
            self._dir.cleanup()

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        assert self._reader
        good: dict[str, Any] | None = None
        while True:
            await self._watched.wait()
            started = loop.time()
            try:
                view = await asyncio.to_thread(self._reader.read)
            except Exception as exc:  # an answer the reader did not expect: say so, keep serving, read again
                view = {"ok": False, "manager": "", "error": f"cannot read the swarm: {type(exc).__name__}: {exc}",
                        "nodes": [], "services": [], "tasks": [], "badges": []}
            self.reads += 1
            if view["ok"]:
                good = view
            elif good:  # the last picture, marked as stale
                view = {**view, **{k: good[k] for k in ("nodes", "services", "tasks")}}
            if self.snapshot is None or _content(view) != _content(self.snapshot):
                view["read_at"] = datetime.now(UTC).isoformat(timespec="seconds")
                self.snapshot = view
                self.version += 1
                async with self._changed:
                    self._changed.notify_all()
            await asyncio.sleep(max(0.0, self.interval - (loop.time() - started)))

    async def watch(self) -> AsyncIterator[dict[str, Any]]:
        """Every new snapshot, the current one first, for as long as the page stays."""
        self.pages += 1
        self._watched.set()
        seen = 0
        try:
            while True:
                async with self._changed:
                    await self._changed.wait_for(lambda: self.version != seen and self.snapshot is not None)
                seen = self.version
                assert self.snapshot is not None
                yield self.snapshot
        finally:
            self.pages -= 1
            if self.pages == 0:
                self._watched.clear()


def _content(view: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in view.items() if k != "read_at"}


def make_app(accesses: list[Access], interval: float = INTERVAL) -> Starlette:
    poller = Poller(accesses, interval)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await poller.start()
        try:
            yield
        finally:
            await poller.stop()

    async def index(request: Request) -> FileResponse:
        return FileResponse(STATIC / "index.html")

    async def events(request: Request) -> EventSourceResponse:
        async def stream() -> AsyncIterator[dict[str, str]]:
            async for view in poller.watch():
                yield {"event": "snapshot", "data": json.dumps(view)}

        return EventSourceResponse(stream(), ping=15)

    async def stats(request: Request) -> JSONResponse:
        return JSONResponse({"reads": poller.reads, "pages": poller.pages, "interval": poller.interval,
                             "managers": [a.host for a in accesses]})

    app = Starlette(
        routes=[
            Route("/", index),
            Route("/events", events),
            Route("/api/poller", stats),
            Mount("/static", StaticFiles(directory=STATIC), name="static"),
        ],
        lifespan=lifespan,
    )
    app.state.poller = poller
    return app


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def serve(accesses: list[Access], host: str, port: int) -> None:
    """Serves until Ctrl-C; open page streams end with the server."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family) as probe:  # a clear error instead of uvicorn's log line
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise LabError(f"cannot listen on {host}:{port} ({exc.strerror}): choose another with --port or --host") from None
    config = uvicorn.Config(make_app(accesses), host=host, port=port, log_level="warning", timeout_graceful_shutdown=3)
    uvicorn.Server(config).run()
