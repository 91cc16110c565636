"""What `vnode run --in-cluster` creates in the cluster under test: a namespace, a ServiceAccount, the
least RBAC the suite needs (one ClusterRole and its binding), and the Job that runs the suite image.

Every rule says why the suite needs it (`Rule.why`): docs/in-cluster.md is that table, and a rule
missing at run time is named by the run (vnode_harness.plumbing.forbidden). Cluster-wide, because the
suite makes a namespace per test and certifies cluster-scoped behaviour (nodes, volumes, the webhook
configuration); nothing here may escalate (no RBAC, no secrets, no exec, no node writes).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

PART_OF = "vnode-conformance-in-cluster"
"""`app.kubernetes.io/part-of` of everything the runner creates: what it removes, also after a crash."""
RUN_LABEL = "conformance.vnode.dev/in-cluster-run"
CONTAINER = "conformance"
SERVICE_ACCOUNT = "vnode-conformance"
REPORTS_MOUNT = "/reports"
GRACE_SECONDS = 180
"""The pod's terminationGracePeriodSeconds: pytest, interrupted, restores the eci-profile (a wait of up
to the implementation's propagation limit), releases its lock and writes its reports; the runner then
still fetches the archive."""


@dataclass(frozen=True)
class Rule:
    """One ClusterRole rule, with the reason the suite needs it."""

    group: str
    resources: tuple[str, ...]
    verbs: tuple[str, ...]
    why: str

    def to_policy(self) -> dict[str, Any]:
        return {"apiGroups": [self.group], "resources": list(self.resources), "verbs": list(self.verbs)}


RULES: tuple[Rule, ...] = (
    Rule(
        "",
        ("namespaces",),
        ("get", "list", "create", "delete", "patch"),
        "a fresh namespace per test (create, delete), labelled by the selector tests (patch); the "
        "end-of-run leak check lists the run's namespaces (list); shards are told apart by kube-system's "
        "uid (get)",
    ),
    Rule(
        "",
        ("pods",),
        ("get", "list", "create", "delete", "patch"),
        "the tests' pods and dry-run probes (create), where they run and their annotations (get, list), "
        "the implementation's declared pods (list), a label change after creation (patch), placement "
        "probes removed (delete)",
    ),
    Rule(
        "",
        ("configmaps",),
        ("get", "create", "update", "delete"),
        "the eci-profile ConfigMap (kube-system/eci-profile, or the implementation file's "
        "observation.profileName): snapshot (get), change and restore byte for byte (update), created "
        "and removed again where a test needs it absent or present",
    ),
    Rule(
        "",
        ("events",),
        ("list",),
        "the implementation's Events for a rejected profile, and a failed test's diagnostics",
    ),
    Rule(
        "",
        ("serviceaccounts",),
        ("get",),
        "a new namespace's default ServiceAccount exists before its first pod is created",
    ),
    Rule(
        "",
        ("nodes",),
        ("get", "list"),
        "the virtual nodes and their zone labels (where a pod runs is judged by its node)",
    ),
    Rule(
        "",
        ("persistentvolumeclaims",),
        ("get", "list", "create"),
        "the storage tests' claims (create, get); the leak check lists them",
    ),
    Rule(
        "",
        ("persistentvolumes",),
        ("get", "list"),
        "the provisioned volume's node affinity (zone) and the leak check",
    ),
    Rule(
        "apps",
        ("deployments",),
        ("get", "create", "patch"),
        "the hot-update test's Deployment, rolled by a template change",
    ),
    Rule(
        "apps",
        ("replicasets",),
        ("get",),
        'the owner chain of the implementation\'s pods ("without restarting")',
    ),
    Rule(
        "storage.k8s.io",
        ("storageclasses",),
        ("get",),
        "the eci-disk StorageClass's volumeBindingMode and zone",
    ),
    Rule(
        "admissionregistration.k8s.io",
        ("mutatingwebhookconfigurations",),
        ("get",),
        "the implementation's webhook configuration (selectors) and whose webhook refused a request",
    ),
    Rule(
        "coordination.k8s.io",
        ("leases",),
        ("get", "list", "create", "update", "delete"),
        "the eci-profile lock: Leases held, renewed and released in the profile's namespace; the leak "
        "check lists the run's",
    ),
)


@dataclass(frozen=True)
class InClusterRun:
    """The names of one in-cluster run's objects, all derived from its id."""

    run_id: str
    image: str
    pytest_args: tuple[str, ...] = ()
    implementation_file: str = ""
    """The implementation file inside the image (`implementations/…`), or "" for the default."""
    environment: tuple[tuple[str, str], ...] = ()
    memory_limit: str = "2Gi"
    deadline_seconds: int = 3 * 3600

    @property
    def namespace(self) -> str:
        return f"vnode-conformance-{self.run_id}"

    @property
    def cluster_role(self) -> str:
        return f"vnode-conformance-{self.run_id}"

    @property
    def job(self) -> str:
        return "vnode-conformance"

    def labels(self) -> dict[str, str]:
        return {"app.kubernetes.io/part-of": PART_OF, RUN_LABEL: self.run_id}


def namespace(run: InClusterRun) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": run.namespace, "labels": run.labels()},
    }


def service_account(run: InClusterRun) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": {"name": SERVICE_ACCOUNT, "namespace": run.namespace, "labels": run.labels()},
    }


def cluster_role(run: InClusterRun, rules: tuple[Rule, ...] = RULES) -> dict[str, Any]:
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": {"name": run.cluster_role, "labels": run.labels()},
        "rules": [rule.to_policy() for rule in rules],
    }


def cluster_role_binding(run: InClusterRun) -> dict[str, Any]:
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRoleBinding",
        "metadata": {"name": run.cluster_role, "labels": run.labels()},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": run.cluster_role},
        "subjects": [{"kind": "ServiceAccount", "name": SERVICE_ACCOUNT, "namespace": run.namespace}],
    }


def job(run: InClusterRun) -> dict[str, Any]:
    """One pod, never retried (a second attempt would certify on a cluster the first one left changed),
    on a regular node (no toleration: virtual nodes are tainted), non-root with a read-only root."""
    arguments = [
        *(["--implementation", run.implementation_file] if run.implementation_file else []),
        *run.pytest_args,
    ]
    container = {
        "name": CONTAINER,
        "image": run.image,
        "imagePullPolicy": "IfNotPresent",
        "args": arguments,
        "env": [{"name": name, "value": value} for name, value in run.environment],
        "resources": {
            "requests": {"cpu": "500m", "memory": run.memory_limit},
            "limits": {"memory": run.memory_limit},
        },
        "volumeMounts": [
            {"name": "reports", "mountPath": REPORTS_MOUNT},
            {"name": "tmp", "mountPath": "/tmp"},  # noqa: S108 (an emptyDir of the pod: HOME)
        ],
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "capabilities": {"drop": ["ALL"]},
            "readOnlyRootFilesystem": True,
            "runAsNonRoot": True,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
    }
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": run.job, "namespace": run.namespace, "labels": run.labels()},
        "spec": {
            "backoffLimit": 0,
            "activeDeadlineSeconds": run.deadline_seconds,
            "template": {
                "metadata": {"labels": run.labels()},
                "spec": {
                    "serviceAccountName": SERVICE_ACCOUNT,
                    "restartPolicy": "Never",
                    "terminationGracePeriodSeconds": GRACE_SECONDS,
                    "containers": [container],
                    "volumes": [{"name": "reports", "emptyDir": {}}, {"name": "tmp", "emptyDir": {}}],
                },
            },
        },
    }
