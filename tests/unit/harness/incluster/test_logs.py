"""The pod's log reaches the terminal as it comes (progress dots end no line), and the marker line is
caught even when it arrives split across chunks."""

from __future__ import annotations

import io
import threading
from types import SimpleNamespace as O

from vnode_harness.incluster.logs import LogFollower
from vnode_harness.incluster.manifests import CONTAINER
from vnode_harness.incluster.pod import MARKER
from vnode_harness.plumbing.waits import wait_for


class Response:
    def __init__(self, chunks: list[bytes], gate: threading.Event) -> None:
        self.chunks, self.gate = chunks, gate

    def stream(self, _size):
        yield self.chunks[0]
        self.gate.wait(5)
        yield from self.chunks[1:]

    def release_conn(self):
        pass


class Core:
    def __init__(self, chunks, gate):
        self.chunks, self.gate = chunks, gate

    def read_namespaced_pod_log(self, *args, **kwargs):
        return Response(self.chunks, self.gate)

    def read_namespaced_pod(self, name, namespace):
        state = O(terminated=O(exit_code=0))
        return O(status=O(container_statuses=[O(name=CONTAINER, state=state)]))


def test_dots_are_shown_before_their_line_ends_and_the_marker_is_caught():
    gate = threading.Event()
    marker = f'{MARKER} {{"archive": "/reports/run.tar.gz", "bytes": 10, "exit": 0, "run": "r"}}\n'.encode()
    chunks = [b"2 workers [69 items]\n...", b"..\n" + marker[:20], marker[20:], "é".encode()]
    out = io.StringIO()
    follower = LogFollower(Core(chunks, gate), "p", "ns", out=out).start()
    # shown although the line is not complete (the rest of the log is held back until then)
    wait_for(
        "the dots on the terminal",
        lambda: (out.getvalue().endswith("...") or None, out.getvalue()),
        timeout=5,
    )
    gate.set()
    assert follower.ended.wait(5)
    assert follower.marker == {"archive": "/reports/run.tar.gz", "bytes": 10, "exit": 0, "run": "r"}
    assert out.getvalue().endswith("é\n")
