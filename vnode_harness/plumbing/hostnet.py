"""Loopback ports for host-process clusters, and the machine-wide lock that makes choosing them safe.

Ports are picked by binding port 0 on 127.0.0.1 and releasing it. Between release and the component's
own bind another process could take the port, so every cluster start on this machine holds one file
lock from choosing its ports until its components listen: two checkouts or pytest-xdist runs starting
at once then never hand out the same port.
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator
from pathlib import Path

from vnode_harness.plumbing.cache_dir import cache_root
from vnode_harness.plumbing.file_lock import file_lock

LOOPBACK = "127.0.0.1"


def free_ports(count: int) -> list[int]:
    """`count` distinct loopback ports that were free a moment ago (hold `cluster_start_lock`)."""
    sockets: list[socket.socket] = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind((LOOPBACK, 0))
            sockets.append(sock)
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


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
    """Serialize port choice + component start across every process of this user on this machine."""
    with file_lock(cache_root() / "locks" / "cluster-start.lock"):
        yield
