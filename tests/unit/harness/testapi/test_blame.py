"""An API error caused by the implementation's own webhook is the implementation's failure, quoted;
any other webhook (Istio's injector, a cluster policy) and any other API error stay "broken"."""

import json
from types import SimpleNamespace

import pytest
from kubernetes import client

from vnode_harness.plugin import pytest_plugin
from vnode_harness.testapi import blame

REFUSED = (
    'Internal error occurred: failed calling webhook "vk.eci.conformance.dev": failed to call webhook: '
    'Post "https://127.0.0.1:40001/mutate?timeout=10s": dial tcp 127.0.0.1:40001: connect: connection refused'
)


def api_error(status: int, message: str) -> client.ApiException:
    error = client.ApiException(status=status, reason="Internal Server Error")
    error.body = json.dumps({"kind": "Status", "message": message})
    return error


def test_a_refusal_by_the_implementations_webhook_is_blamed_on_it_with_the_cause():
    reason = blame.blame_implementation(api_error(500, REFUSED), {"vk.eci.conformance.dev"})
    assert reason is not None
    assert "vk.eci.conformance.dev" in reason
    assert "connection refused" in reason


def test_a_denial_by_the_implementations_webhook_is_blamed_on_it():
    denied = 'admission webhook "vk.eci.conformance.dev" denied the request: malformed pod'
    assert blame.blame_implementation(api_error(400, denied), {"vk.eci.conformance.dev"})


def test_another_webhook_is_not_the_implementations_fault():
    injector = REFUSED.replace("vk.eci.conformance.dev", "namespace.sidecar-injector.istio.io")
    assert blame.blame_implementation(api_error(500, injector), {"vk.eci.conformance.dev"}) is None


def test_an_api_error_naming_no_webhook_is_not_blamed():
    assert blame.blame_implementation(api_error(409, "already exists"), {"vk.eci.conformance.dev"}) is None


def test_the_cause_is_found_through_chained_exceptions():
    outer = RuntimeError("while creating pod ns/nginx")
    outer.__cause__ = api_error(500, REFUSED)
    assert blame.blame_implementation(outer, {"vk.eci.conformance.dev"})


def _call_hook(monkeypatch, error: BaseException, names: set[str]) -> BaseException:
    monkeypatch.setattr(pytest_plugin, "is_conformance_run", lambda config: True)
    monkeypatch.setattr(blame, "implementation_webhook_names", lambda kubeconfig, implementation: names)
    context = SimpleNamespace(cluster=SimpleNamespace(kubeconfig="kubeconfig"))
    item = SimpleNamespace(
        config=None, stash=pytest.Stash(), funcargs={"run_context": context, "implementation": object()}
    )
    hook = pytest_plugin.pytest_runtest_call(item)  # type: ignore[arg-type]
    next(hook)
    try:
        hook.throw(error)
    except Exception as raised:
        return raised
    raise AssertionError("the hook swallowed the error")


def test_the_plugin_turns_the_implementations_webhook_error_into_an_assertion_failure(monkeypatch):
    raised = _call_hook(monkeypatch, api_error(500, REFUSED), {"vk.eci.conformance.dev"})
    assert isinstance(raised, AssertionError)
    assert "connection refused" in str(raised)


def test_the_plugin_leaves_other_errors_as_they_are(monkeypatch):
    error = api_error(500, REFUSED)
    assert _call_hook(monkeypatch, error, {"some-other-webhook"}) is error
