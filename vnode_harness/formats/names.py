"""Names fixed by the documents (and by Istio) that the tests, the readiness checks and the providers
all use: one home, so a test and the harness can never disagree on a spelling.

The names an implementation may declare differently (annotations, node selector, profile) are the
observation contract instead (vnode_harness.formats.implementation.Observation).
vnode_harness.testapi.generative.model keeps its own copy of the ECI label on purpose: it is an
independent model of the documents.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

ECI_LABEL: Final = "alibabacloud.com/eci"
"""The routing label of a pod or namespace; only the value "true" routes."""
ISTIO_SIDECAR: Final = "istio-proxy"
"""The container Istio's injector adds (classic) or the restartable init container (native)."""
ISTIO_INJECTION: Final[Mapping[str, str]] = MappingProxyType({"istio-injection": "enabled"})
"""The namespace label that turns on Istio's sidecar injection (read-only: copy it with dict())."""


def dns_label(text: str, limit: int = 63) -> str:
    """`text` made a DNS-1123 label (or a generateName prefix): lower case, every run of other characters
    one "-", at most `limit` characters, no "-" at either end. Kubernetes names of namespaces and
    objects the suite makes from test names and run ids go through here."""
    return re.sub(r"[^a-z0-9-]+", "-", text.lower())[:limit].strip("-")
