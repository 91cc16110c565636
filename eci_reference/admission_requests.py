"""AdmissionReview requests as the API server sends them to ``POST /mutate``: for the tests and the benchmark.

The webhook never builds one. The literals are written out here, not taken from ``constants``, so that a
wrong constant in the webhook still meets a request of the real shape.
"""

from __future__ import annotations

from typing import Any, Final

#: ``request.kind`` of a pod.
POD_KIND: Final = {"group": "", "version": "v1", "kind": "Pod"}


def admission_review(
    pod: Any, namespace: Any = "default", uid: Any = "uid-1", operation: Any = "CREATE", kind: Any = None
) -> dict[str, Any]:
    """An admission.k8s.io/v1 AdmissionReview of ``pod`` (``kind`` defaults to a pod's, a fresh copy).

    Every argument is taken as it is, wrong types included, so that tests can send what no API server would.
    """
    request = {
        "uid": uid,
        "kind": dict(POD_KIND) if kind is None else kind,
        "resource": {"group": "", "version": "v1", "resource": "pods"},
        "namespace": namespace,
        "operation": operation,
        "object": pod,
    }
    return {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": request}
