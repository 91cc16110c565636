"""Loopback ports for host-process clusters, and the machine-wide lock that makes choosing them safe.

Ports are picked by binding port 0 on 127.0.0.1 and releasing it. Between release and the component's
own bind another cluster start could be handed the same port, so ports are *reserved* until their
components listen: `reserved_ports` chooses them under one machine-wide file lock, records them (with
the owner's pid) in a reservation file that every later choice avoids, and releases them when its block
ends. Cluster starts (two checkouts, the shards of one run) then go on in parallel and never share a
port; a reservation whose owner died is ignored.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path

from vnode_harness.plumbing.cache_dir import cache_root
from vnode_harness.plumbing.file_lock import file_lock
from vnode_harness.plumbing.processes import pid_alive

LOOPBACK = "127.0.0.1"


RESERVATION_SECONDS = 600.0
"""A reservation older than this is stale even if its owner lives (a start never takes that long)."""


def free_ports(count: int, *, avoid: frozenset[int] = frozenset()) -> list[int]:
    """`count` distinct loopback ports that were free a moment ago and are not in `avoid` (reserve them
    with `reserved_ports` when a component will bind them later)."""
    sockets: list[socket.socket] = []
    chosen: list[int] = []
    try:
        while len(chosen) < count:
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind((LOOPBACK, 0))
            sockets.append(sock)  # held open until the end, so the kernel hands out another port next
            port = sock.getsockname()[1]
            if port not in avoid:
                chosen.append(port)
        return chosen
    finally:
        for sock in sockets:
            sock.close()


def _reservations_file() -> Path:
    return cache_root() / "locks" / "reserved-ports.json"


def _live_reservations() -> dict[int, tuple[int, float]]:
    """port → (owner pid, when) for reservations whose owner lives and that are not stale."""
    try:
        raw = json.loads(_reservations_file().read_text())
    except (OSError, ValueError):
        return {}
    now = time.time()
    live = {}
    for port, (pid, when) in raw.items():
        if now - when < RESERVATION_SECONDS and pid_alive(int(pid)):
            live[int(port)] = (int(pid), float(when))
    return live


def _write_reservations(reservations: dict[int, tuple[int, float]]) -> None:
    path = _reservations_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(f".{os.getpid()}.tmp")
    temporary.write_text(json.dumps({str(port): list(owner) for port, owner in reservations.items()}))
    temporary.replace(path)


@contextlib.contextmanager
def reserved_ports(count: int) -> Iterator[list[int]]:
    """`count` free loopback ports no other cluster start of this machine is handed until the block
    ends: hold it until the components that bind them listen."""
    with cluster_start_lock():
        reservations = _live_reservations()
        ports = free_ports(count, avoid=frozenset(reservations))
        now = time.time()
        _write_reservations({**reservations, **{port: (os.getpid(), now) for port in ports}})
    try:
        yield ports
    finally:
        with cluster_start_lock():
            _write_reservations({p: o for p, o in _live_reservations().items() if p not in ports})


def port_is_listening(port: int) -> bool:
    """Whether any socket of this machine listens on TCP `port` (any address).

    Read from /proc/net/tcp{,6} rather than by connecting: a connect() to a free port in the ephemeral
    range can succeed against itself (TCP simultaneous open), which would report a port as taken.
    """
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            local_port = int(fields[1].rsplit(":", 1)[1], 16)
            if local_port == port and fields[3] == _TCP_LISTEN:
                return True
    return False


_TCP_LISTEN = "0A"


@contextlib.contextmanager
def cluster_start_lock() -> Iterator[None]:
    """Serialize port reservations across every process (and thread) of this user on this machine."""
    with file_lock(cache_root() / "locks" / "cluster-start.lock"):
        yield
