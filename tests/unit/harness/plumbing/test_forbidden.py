"""An RBAC refusal is named as the rule to grant; any other 403 (a webhook, a policy) is not."""

from __future__ import annotations

import json

from kubernetes.client.exceptions import ApiException

from vnode_harness.plumbing.forbidden import missing_permission, permission_in_message

SA = "system:serviceaccount:vnode-conformance-x:vnode-conformance"


def forbidden(message: str, status: int = 403) -> ApiException:
    error = ApiException(status=status, reason="Forbidden")
    error.body = json.dumps({"kind": "Status", "message": message})
    return error


def test_a_namespaced_refusal_names_verb_resource_group_and_namespace():
    error = forbidden(
        f'leases.coordination.k8s.io "eci-profile-lock" is forbidden: User "{SA}" cannot update resource '
        '"leases" in API group "coordination.k8s.io" in the namespace "kube-system"'
    )
    missing = missing_permission(error)
    assert missing is not None
    assert (missing.verb, missing.resource, missing.group, missing.namespace, missing.user) == (
        "update", "leases", "coordination.k8s.io", "kube-system", SA,
    )  # fmt: skip
    assert missing.rule() == (
        'verbs [update] on resources [leases] in apiGroups [coordination.k8s.io] (namespace "kube-system")'
    )
    assert "docs/in-cluster.md" in missing.sentence()


def test_a_cluster_scoped_refusal_of_the_core_group():
    missing = permission_in_message(
        f'nodes is forbidden: User "{SA}" cannot list resource "nodes" in API group "" at the cluster scope'
    )
    assert missing is not None
    assert missing.rule() == 'verbs [list] on resources [nodes] in apiGroups [""] (cluster scope)'


def test_a_refusal_is_found_behind_the_exception_that_wraps_it():
    try:
        try:
            raise forbidden(f'pods is forbidden: User "{SA}" cannot create resource "pods" in API group "" '
                            'in the namespace "t-1"')  # fmt: skip
        except ApiException as inner:
            raise AssertionError("the test pod was not created") from inner
    except AssertionError as outer:
        missing = missing_permission(outer)
    assert missing is not None
    assert (missing.verb, missing.resource) == ("create", "pods")


def test_a_webhook_denial_or_another_status_is_not_an_rbac_rule():
    denied = forbidden('admission webhook "vk-webhook.eci.io" denied the request: invalid profile')
    assert missing_permission(denied) is None
    not_found = forbidden('pods "x" not found', status=404)
    assert missing_permission(not_found) is None
    assert missing_permission(RuntimeError("no API error at all")) is None
