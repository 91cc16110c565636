"""Why a conformance test failed, when the cause is not the assertion it stopped at.

A failing test often only shows a symptom ("timed out waiting for pod … to be Running"). Before the
verdict is recorded, the plugin's runtest hooks ask here whether something else explains it: the
implementation's own process had died, or one of its declared pods was replaced during the test (the
test fails with that cause), its webhook refused the request (failed, quoting the webhook,
vnode_harness.testapi.blame), a component of the environment is dead or a virtual node is not Ready (broken,
not failed: vnode_harness.lifecycle.health), or the test's eci-profile lock took over a dead
holder's lease (recorded in the report). Kept out of the plugin module so that its hooks read as the
order of these questions, not their answers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from vnode_harness.run_context import RunContext
    from vnode_harness.testapi.implementation_pods import ImplementationPod

_pods_at_start_key = pytest.StashKey[tuple["ImplementationPod", ...]]()


def _declared_pods_now(context: RunContext) -> tuple[ImplementationPod, ...] | None:
    """The implementation's declared pods (observation.implementationPods) as the API shows them now;
    None when it runs as a host process (its pid says more), declares none, or the API does not answer."""
    from kubernetes import client

    from vnode_harness.formats.implementation import load_implementation
    from vnode_harness.plumbing.kube import api_client
    from vnode_harness.testapi.implementation_pods import implementation_pods

    if context.implementation_process:
        return None
    implementation = load_implementation(context.implementation_file)
    if implementation.observation.implementation_pods is None:
        return None
    try:
        with api_client(context.cluster.kubeconfig, "implementation-pods") as api:
            return implementation_pods(client.CoreV1Api(api), implementation)
    except Exception:  # the API server itself is away: no finding either way
        return None


def remember_implementation_pods(item: pytest.Item, context: RunContext | None) -> None:
    """Before a test's set-up: its implementation's pods, so a failure can say one was replaced meanwhile."""
    pods = _declared_pods_now(context) if context is not None else None
    if pods is not None:
        item.stash[_pods_at_start_key] = pods


def _pods_replaced(item: pytest.Item, context: RunContext) -> str | None:
    from vnode_harness.testapi.implementation_pods import replaced_during

    before = item.stash.get(_pods_at_start_key, None)
    after = _declared_pods_now(context) if before is not None else None
    return replaced_during(before, after) if before is not None and after is not None else None


def raise_if_implementation_down(item: pytest.Item, error: BaseException) -> None:
    """A test that failed while the implementation's own process had died, or while one of its declared
    pods was deleted, replaced or restarted, fails with that cause."""
    from vnode_harness.testapi.identity import ImplementationDown, implementation_down

    context = getattr(item, "funcargs", {}).get("run_context")
    down = (implementation_down(context) or _pods_replaced(item, context)) if context is not None else None
    if down:
        raise ImplementationDown(f"{down}; the test saw: {_first_line(error)}") from error


def _first_line(error: BaseException) -> str:
    """What the test saw, in one line: an API error's status and message (its str() starts "(500)")."""
    from kubernetes import client

    from vnode_harness.testapi.blame import api_error_text

    if isinstance(error, client.ApiException):
        return api_error_text(error).splitlines()[0]
    seen = str(error).strip().splitlines()
    return seen[0] if seen else type(error).__name__


def implementation_webhook_fault(item: pytest.Item, error: BaseException) -> str | None:
    """The implementation's own webhook's refusal or failure quoted from `error`, or None when no
    webhook of its declared configuration is to blame."""
    from vnode_harness.testapi.blame import blame_implementation, implementation_webhook_names, webhooks_named

    if not webhooks_named(error):
        return None
    funcargs = getattr(item, "funcargs", {})
    context, implementation = funcargs.get("run_context"), funcargs.get("implementation")
    if context is None or implementation is None:
        return None
    names = implementation_webhook_names(context.cluster.kubeconfig, implementation)
    return blame_implementation(error, names)


def environment_fault(item: pytest.Item, context: RunContext | None = None) -> str:
    """The environment's fault that makes this failed test broken (a dead component of the cluster,
    named with its shard, else a virtual node not Ready), or "" when the environment looks sound.
    `context`: the worker's own, for a test that failed before its fixtures gave it one."""
    from vnode_harness.lifecycle.health import environment_fault_text

    context = getattr(item, "funcargs", {}).get("run_context") or context
    fault = environment_fault_text(context.cluster, getattr(context, "shard", "")) if context else ""
    return fault or virtual_nodes_not_ready(item)


def forbidden_fault(call: pytest.CallInfo[object]) -> str:
    """The permission the suite's credentials lack, when the test stopped at an RBAC refusal (a run
    inside the cluster with a rule missing): the test is broken, and the rule is named."""
    from vnode_harness.plumbing.forbidden import missing_permission

    missing = missing_permission(call.excinfo.value) if call.excinfo is not None else None
    return missing.sentence() if missing is not None else ""


class ControlPlaneDown(RuntimeError):
    """The test's cluster answers no request any more (its API server or etcd died): the test is broken
    at once, not left to wait for its time-outs (not an AssertionError: nothing is known of the
    implementation)."""


def _control_plane_down_text(context: RunContext) -> str:
    from vnode_harness.lifecycle.health import control_plane_down

    down = control_plane_down(context.cluster)
    return f"{context.shard or 'the cluster'}: {down}" if down else ""


def give_up_waiting_once_control_plane_down(context: RunContext) -> None:
    """This process's waits on `context`'s cluster end at once when its API server or etcd died: the
    test is broken anyway, and its time-outs (and its fixtures' restore waits) would only hold the run."""
    from vnode_harness.plumbing.waits import give_up_while_away

    give_up_while_away(lambda: _control_plane_down_text(context))


def raise_if_control_plane_down(context: RunContext | None) -> None:
    """Before a test's set-up: once its cluster's control plane is known dead, no test of that cluster
    can tell anything, so the rest of its shard's tests end broken at once, with the cause."""
    down = _control_plane_down_text(context) if context is not None else ""
    if down:
        raise ControlPlaneDown(f"{down}; no test can run on this cluster any more")


def virtual_nodes_not_ready(item: pytest.Item) -> str:
    """The environment fault of a virtual node that is not Ready (any provider), or "": a test whose
    pod had nowhere to go is broken, not failed. Unanswerable (the API server away): ""."""
    from kubernetes import client

    from vnode_harness.plumbing.kube import api_client
    from vnode_harness.testapi.observe import not_ready_virtual_nodes

    funcargs = getattr(item, "funcargs", {})
    context, implementation = funcargs.get("run_context"), funcargs.get("implementation")
    if context is None or implementation is None:
        return ""
    try:
        with api_client(context.cluster.kubeconfig, "environment-health") as api:
            lines = not_ready_virtual_nodes(client.CoreV1Api(api), implementation.observation)
    except Exception:  # the API server itself is away: no finding either way
        return ""
    if not lines:
        return ""
    return (
        "The test environment itself is broken, so this failure may not be the implementation's:\n"
        + "\n".join(f"- {line}" for line in lines)
    )


def led_by_cause(fault: str, longrepr: object) -> str:
    """The failure's text with the environment's fault as its first line, so the report's one-line
    reason of a broken test names the cause (the dead component, the node not Ready)."""
    causes = [line.removeprefix("- ") for line in fault.splitlines() if line.startswith("- ")]
    return f"environment fault: {causes[0] if causes else fault.splitlines()[0]}\n\n{longrepr}"


PROFILE_LOCK_FIXTURES = ("eci_profile", "profile_hold")
"""The conformance fixtures that hold the eci-profile lock: the editor (exclusive, as `.lock`) and the
shared hold every other test takes (conformance/conftest.py)."""


def record_lock_takeover(item: pytest.Item, report: pytest.TestReport) -> None:
    """How this test held the eci-profile lock (exclusive or shared), and when it took over a dead
    holder's expired lease: the report says both."""
    from vnode_harness.report.collector import LOCK_TAKEOVER_PROPERTY, PROFILE_LOCK_PROPERTY

    funcargs = getattr(item, "funcargs", {})
    for name in PROFILE_LOCK_FIXTURES:
        held = funcargs.get(name)
        lock = getattr(held, "lock", held)
        mode = getattr(lock, "mode", None)
        if mode:
            report.user_properties.append((PROFILE_LOCK_PROPERTY, mode))
        taken_over = getattr(lock, "taken_over", None)
        if taken_over:
            report.user_properties.append((LOCK_TAKEOVER_PROPERTY, taken_over))
