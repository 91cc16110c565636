"""A cleanup call waits out an API server that does not answer, never an answer (plumbing.waits)."""

from __future__ import annotations

import pytest
import urllib3
from kubernetes import client

from vnode_harness.plumbing.waits import when_answered


def test_a_call_is_retried_until_the_api_server_answers_again() -> None:
    calls: list[int] = []

    def delete() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise urllib3.exceptions.MaxRetryError(None, "/api/v1/namespaces/x", "connection refused")  # type: ignore[arg-type]
        return "deleted"

    assert when_answered(delete, within=10) == "deleted"
    assert len(calls) == 3


def test_an_answer_is_never_retried() -> None:
    calls: list[int] = []

    def refused() -> None:
        calls.append(1)
        raise client.ApiException(status=403, reason="Forbidden")

    with pytest.raises(client.ApiException):
        when_answered(refused, within=10)
    assert calls == [1]


def test_an_api_server_that_stays_away_raises_its_last_error() -> None:
    def away() -> None:
        raise urllib3.exceptions.ProtocolError("connection reset")

    with pytest.raises(urllib3.exceptions.ProtocolError):
        when_answered(away, within=0.5)
