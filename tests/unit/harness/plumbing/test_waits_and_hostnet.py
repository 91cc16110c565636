import socket
import time

import pytest

from vnode_harness.plumbing.hostnet import free_ports, port_is_listening
from vnode_harness.plumbing.waits import (
    ConsistencyUnobserved,
    ConsistencyViolation,
    WaitTimeout,
    consistently,
    wait_for,
)


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


class TestConsistently:
    def test_a_claim_that_holds_is_sampled_over_the_whole_window(self):
        times = []

        def probe():
            times.append(time.monotonic())
            return True, "fine"

        held = consistently("the thing to stay", probe, hold=0.5, interval=0.05)
        assert held == len(times) >= 5
        assert times[-1] - times[0] >= 0.5, "the last sample is taken at the end of the window, not before"

    def test_the_first_violation_fails_with_what_when_and_what_held_before(self):
        samples = iter([(True, "ok 1"), (True, "ok 2"), (None, "moved to vk-1"), (True, "ok again")])
        with pytest.raises(ConsistencyViolation) as raised:
            consistently("pod p to stay", lambda: next(samples), hold=5, interval=0.01, hint="kubectl get p")
        message = str(raised.value)
        assert message.startswith("expected pod p to stay for 5 s; violated ")
        assert "s into the window (sample 3): seen moved to vk-1" in message
        assert "before that it held 2 time(s), last seen: ok 2" in message
        assert message.endswith("\n  inspect with: kubectl get p")

    def test_a_late_violation_is_caught(self):
        start = time.monotonic()

        def probe():
            late = time.monotonic() - start > 0.3
            return (None, "changed") if late else (True, "unchanged")

        with pytest.raises(ConsistencyViolation, match=r"violated 0\.[3-9] s into the window"):
            consistently("x", probe, hold=2, interval=0.05)

    def test_a_violation_is_an_assertion_so_the_implementation_is_blamed(self):
        assert issubclass(ConsistencyViolation, AssertionError)
        assert not issubclass(ConsistencyUnobserved, AssertionError)

    def test_transient_errors_are_no_evidence_but_a_window_without_answers_is_unobserved(self):
        answers = iter([ConnectionError("refused"), (True, "ok")])

        def flaky():
            answer = next(answers, (True, "ok"))
            if isinstance(answer, Exception):
                raise answer
            return answer

        assert consistently("x", flaky, hold=0.2, interval=0.05, transient=(ConnectionError,)) >= 1

        def down():
            raise ConnectionError("refused")

        with pytest.raises(ConsistencyUnobserved, match=r"no sample answered \(last error: ConnectionError"):
            consistently("x", down, hold=0.2, interval=0.05, transient=(ConnectionError,))

    def test_other_errors_propagate(self):
        def probe():
            raise ValueError("bug")

        with pytest.raises(ValueError, match="bug"):
            consistently("x", probe, hold=1, interval=0.05)


def test_reserved_ports_are_never_handed_out_twice_until_released(tmp_path, monkeypatch):
    """Two cluster starts at once (threads here; processes alike) get disjoint ports while both hold
    their reservations; a released reservation or one whose owner died is free again."""
    import json
    import threading
    import time

    from vnode_harness.plumbing import hostnet

    monkeypatch.setenv("VNODE_CACHE_DIR", str(tmp_path))
    held: list[list[int]] = []
    both_reserved = threading.Barrier(2)

    def start() -> None:
        with hostnet.reserved_ports(20) as ports:
            held.append(ports)
            both_reserved.wait(timeout=10)

    threads = [threading.Thread(target=start) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(held) == 2
    assert not set(held[0]) & set(held[1])
    assert hostnet._live_reservations() == {}  # both released

    reservations = tmp_path / "locks" / "reserved-ports.json"
    now = time.time()  # port 1: a recent reservation of no live process; port 2: pid 1's, long stale
    reservations.write_text(
        json.dumps({"1": [2**22 + 1, now], "2": [1, now - 2 * hostnet.RESERVATION_SECONDS]})
    )
    assert hostnet._live_reservations() == {}


def test_a_wait_gives_up_at_once_when_the_api_server_will_never_answer_again():
    import urllib3

    from vnode_harness.plumbing.waits import (
        ConsistencyUnobserved,
        WaitUnanswered,
        consistently,
        give_up_while_away,
    )

    def refused() -> tuple[None, str]:
        raise urllib3.exceptions.NewConnectionError(None, "Connection refused")  # type: ignore[arg-type]

    dead = [""]
    remove = give_up_while_away(lambda: dead[0])
    try:
        with pytest.raises(WaitUnanswered, match=r"timed out after 0\.3 s"):  # alive: waits its time out
            wait_for("the pod", refused, timeout=0.3, interval=0.05)
        dead[0] = "shard-2: kube-apiserver (pid 7) is no longer running"
        started = time.monotonic()
        with pytest.raises(WaitUnanswered, match="gave up waiting for the pod: shard-2: kube-apiserver"):
            wait_for("the pod", refused, timeout=30)
        with pytest.raises(ConsistencyUnobserved, match="gave up observing the pod: shard-2"):
            consistently("the pod", refused, hold=30)
        assert time.monotonic() - started < 5
    finally:
        remove()
    with pytest.raises(WaitUnanswered, match="timed out"):  # removed: no longer consulted
        wait_for("the pod", refused, timeout=0.2, interval=0.05)
