import socket

import pytest

from vnode_harness.hostnet import free_ports, port_is_listening
from vnode_harness.waits import WaitTimeout, wait_for


def test_wait_returns_the_value_once_the_condition_holds():
    calls = iter([None, None, "done"])
    assert wait_for("x", lambda: (next(calls), "seen"), timeout=5, interval=0.01) == "done"


def test_wait_timeout_names_what_was_awaited_and_last_seen():
    with pytest.raises(
        WaitTimeout, match=r"waiting for the thing; last seen: phase Pending\n  inspect with: kubectl"
    ):
        wait_for(
            "the thing", lambda: (None, "phase Pending"), timeout=0.3, interval=0.05, hint="kubectl get x"
        )


def test_transient_errors_are_retried_and_reported():
    def probe():
        raise ConnectionError("refused")

    with pytest.raises(WaitTimeout, match="ConnectionError: refused"):
        wait_for("api", probe, timeout=0.3, interval=0.05, transient=(ConnectionError,))


def test_other_errors_are_not_retried():
    def probe():
        raise AssertionError("real failure")

    with pytest.raises(AssertionError):
        wait_for("x", probe, timeout=5)


def test_free_ports_are_distinct_and_listening_is_read_from_the_kernel():
    ports = free_ports(5)
    assert len(set(ports)) == 5
    assert not port_is_listening(ports[0])
    with socket.socket() as server:
        server.bind(("127.0.0.1", ports[0]))
        server.listen()
        assert port_is_listening(ports[0])
