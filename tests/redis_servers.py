"""Private Redis servers that tests start, stop, kill and restart themselves.

:class:`RedisServer` runs one ``redis-server`` process on a free port in its own folder;
:func:`start_cluster` builds a Redis Cluster of such servers with ``redis-cli --cluster
create``. The shared server of :data:`tests.services.REDIS_URL` is never touched here;
:func:`open_redis` opens a Redis store of either kind by URL.
"""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from seatlock.stores import open_store

from .services import free_port, unavailable

if TYPE_CHECKING:
    from seatlock.stores.redis import RedisStore

R = TypeVar("R", bound="RedisStore")


def open_redis(url: str, kind: type[R]) -> R:
    """The store at ``url``, checked to be a ``kind`` (``RedisStore`` or the cluster's)."""
    store = open_store(url)
    assert isinstance(store, kind)
    return store


def _command(port: int, *words: str) -> str | None:
    """Send one command to 127.0.0.1:``port``; its reply's text, or ``None`` if unreachable."""
    wire = f"*{len(words)}\r\n" + "".join(f"${len(w)}\r\n{w}\r\n" for w in words)
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
            sock.sendall(wire.encode())
            return sock.recv(65536).decode(errors="replace")
    except OSError:
        return None


class RedisServer:
    """A ``redis-server`` of this test's own, without persistence unless told otherwise.

    Args:
        folder: its working directory (AOF and cluster files go there).
        options: extra ``redis-server`` options, e.g. ``("--appendonly", "yes")``.
        port: the port (default: a free one).
    """

    def __init__(self, folder: Path, *options: str, port: int | None = None) -> None:
        if shutil.which("redis-server") is None:
            unavailable("redis-server is not installed")
        self.folder = folder
        self.options = options
        self.port = port or free_port()
        self.process: subprocess.Popen[bytes] | None = None
        folder.mkdir(parents=True, exist_ok=True)

    @property
    def url(self) -> str:
        """``redis://127.0.0.1:<port>/0``."""
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        """Start the server and wait until it answers ``PING``."""
        self.process = subprocess.Popen(
            [
                "redis-server",
                *("--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.folder)),
                *("--save", "", "--appendonly", "no", "--protected-mode", "no"),
                *self.options,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while (_command(self.port, "PING") or "").strip() != "+PONG":
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                unavailable(f"redis-server did not start on port {self.port}")
            time.sleep(0.02)
        return self

    def command(self, *words: str) -> str | None:
        """Send one command; its reply's text (``None`` if the server is unreachable)."""
        return _command(self.port, *words)

    def kill(self) -> None:
        """SIGKILL the server (no shutdown save) and wait for it to end."""
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=10)
            self.process = None

    def pause(self) -> None:
        """SIGSTOP the server: connections stay open, nothing is answered."""
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        """SIGCONT a paused server."""
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)

    def stop(self) -> None:
        """End the server (killing it if it was paused or does not end)."""
        if self.process is not None:
            self.process.send_signal(signal.SIGCONT)
            self.kill()


def _cluster_port() -> int:
    """A free port whose cluster bus port (port + 10000) is free too."""
    while True:
        port = free_port()
        if port + 10000 > 65535:
            continue
        try:
            with socket.socket() as sock:
                sock.bind(("127.0.0.1", port + 10000))
        except OSError:
            continue
        return port


def start_cluster(
    folder: Path, masters: int = 3, options: tuple[str, ...] = ()
) -> list[RedisServer]:
    """Start a Redis Cluster of ``masters`` servers (no replicas, extra ``redis-server``
    ``options``) and wait until it is ok."""
    if shutil.which("redis-cli") is None:
        unavailable("redis-cli is not installed")
    nodes: list[RedisServer] = []
    try:
        for i in range(masters):
            port = _cluster_port()
            cluster = ("--cluster-enabled", "yes", "--cluster-node-timeout", "2000")
            node = RedisServer(folder / str(i), *cluster, *options, port=port)
            nodes.append(node.start())
        subprocess.run(
            [
                "redis-cli",
                "--cluster",
                "create",
                *(f"127.0.0.1:{n.port}" for n in nodes),
                *("--cluster-replicas", "0", "--cluster-yes"),
            ],
            check=True,
            capture_output=True,
            timeout=60,
        )
        deadline = time.monotonic() + 30
        while not all("cluster_state:ok" in (n.command("CLUSTER", "INFO") or "") for n in nodes):
            if time.monotonic() > deadline:
                unavailable("the test Redis Cluster never reached cluster_state:ok")
            time.sleep(0.05)
    except BaseException:
        for node in nodes:
            node.stop()
        raise
    return nodes
