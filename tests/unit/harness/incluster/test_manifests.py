"""The in-cluster run's objects: the least RBAC (documented rule by rule), a Job that never retries."""

from __future__ import annotations

import re

from vnode_harness.formats.paths import REPO_ROOT
from vnode_harness.incluster import manifests
from vnode_harness.incluster.manifests import RULES, InClusterRun

RUN = InClusterRun(
    run_id="20261206-101500-ab12",
    image="vnode/conformance:0.1.0",
    pytest_args=("-k", "SCHED"),
    implementation_file="/implementation/reference.yaml",
    environment=(("VNODE_TEST_IMAGE", "vnode/nginx:bookworm"),),
)


def test_the_role_grants_nothing_that_escalates():
    resources = {resource for rule in RULES for resource in rule.resources}
    verbs = {verb for rule in RULES for verb in rule.verbs}
    groups = {rule.group for rule in RULES}
    assert "*" not in resources | verbs | groups
    assert not resources & {"secrets", "pods/exec", "pods/attach", "serviceaccounts/token", "nodes/proxy"}
    assert "rbac.authorization.k8s.io" not in groups
    assert not verbs & {"escalate", "bind", "impersonate", "deletecollection"}
    assert all(rule.why for rule in RULES)


def test_the_docs_list_every_rule_with_its_reason():
    text = (REPO_ROOT / "docs" / "in-cluster.md").read_text()
    documented = set(re.findall(r"^\| `([^`]*)` \| `([^`]+)` \| `([^`]+)` \|", text, re.MULTILINE))
    expected = {(rule.group, ", ".join(rule.resources), ", ".join(rule.verbs)) for rule in RULES}
    assert documented == expected


def test_the_binding_gives_the_role_to_the_runs_service_account_only():
    role, binding = manifests.cluster_role(RUN), manifests.cluster_role_binding(RUN)
    assert binding["roleRef"]["name"] == role["metadata"]["name"] == f"vnode-conformance-{RUN.run_id}"
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": manifests.SERVICE_ACCOUNT, "namespace": RUN.namespace}
    ]


def test_the_job_runs_once_on_a_regular_node_as_non_root():
    job = manifests.job(RUN)
    spec = job["spec"]
    pod = spec["template"]["spec"]
    container = pod["containers"][0]
    assert spec["backoffLimit"] == 0
    assert pod["restartPolicy"] == "Never"
    assert "tolerations" not in pod  # virtual nodes are tainted: the suite never runs on one
    assert pod["serviceAccountName"] == manifests.SERVICE_ACCOUNT
    assert pod["terminationGracePeriodSeconds"] >= 120  # time to restore the eci-profile on SIGTERM
    assert container["args"] == ["--implementation", "/implementation/reference.yaml", "-k", "SCHED"]
    assert container["env"] == [{"name": "VNODE_TEST_IMAGE", "value": "vnode/nginx:bookworm"}]
    security = container["securityContext"]
    assert security["runAsNonRoot"]
    assert security["readOnlyRootFilesystem"]
    assert not security["allowPrivilegeEscalation"]
    assert security["capabilities"] == {"drop": ["ALL"]}
    assert container["resources"]["limits"] == {"memory": "2Gi"}


def test_every_object_carries_the_run_label():
    for document in (manifests.namespace(RUN), manifests.service_account(RUN), manifests.cluster_role(RUN),
                     manifests.cluster_role_binding(RUN), manifests.job(RUN)):  # fmt: skip
        assert document["metadata"]["labels"][manifests.RUN_LABEL] == RUN.run_id
