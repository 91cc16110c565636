"""A Forbidden answer of the API server, as the permission the suite's credentials lack.

Run inside the cluster (`vnode run --in-cluster`), the suite acts through a ServiceAccount whose
ClusterRole grants the least it needs (docs/in-cluster.md). A rule missing there, or withheld by a
vendor's policy, surfaces as a 403 deep inside a test; the run names the rule — verb, resource, API
group, namespace — instead of leaving a traceback to decode.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

_MESSAGE = re.compile(
    r'cannot (?P<verb>[\w-]+) resource "(?P<resource>[^"]+)" in API group "(?P<group>[^"]*)"'
    r'(?: in the namespace "(?P<namespace>[^"]+)"| at the cluster scope)?'
)


@dataclass(frozen=True)
class MissingPermission:
    """What a Forbidden said the credentials may not do."""

    verb: str
    resource: str
    group: str
    namespace: str | None
    user: str

    def rule(self) -> str:
        """The rule to grant, in a ClusterRole's own words."""
        group = self.group or '""'
        where = f' (namespace "{self.namespace}")' if self.namespace else " (cluster scope)"
        return f"verbs [{self.verb}] on resources [{self.resource}] in apiGroups [{group}]{where}"

    def sentence(self) -> str:
        return (
            f"the API server refused the suite ({self.user or 'its credentials'}) a permission: "
            f"grant {self.rule()} (docs/in-cluster.md lists the rules the suite needs)"
        )


def missing_permission(error: BaseException) -> MissingPermission | None:
    """The permission a 403 (kubernetes.client ApiException) names, looking through chained causes too."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        found = _from_api_exception(current)
        if found is not None:
            return found
        current = current.__cause__ or current.__context__
    return None


def _from_api_exception(error: BaseException) -> MissingPermission | None:
    if getattr(error, "status", None) != 403:
        return None
    body = getattr(error, "body", None) or ""
    try:
        message = str(json.loads(body).get("message", ""))
    except (ValueError, AttributeError, TypeError):
        message = str(body)
    return permission_in_message(message)


def permission_in_message(message: str) -> MissingPermission | None:
    """Parse the API server's RBAC refusal (`pods is forbidden: User "…" cannot create resource "pods" in
    API group "" in the namespace "x"`); None for any other message (a webhook's refusal, a policy)."""
    found = _MESSAGE.search(message)
    if found is None:
        return None
    user = re.search(r'User "([^"]+)"', message)
    return MissingPermission(
        verb=found["verb"],
        resource=found["resource"],
        group=found["group"],
        namespace=found["namespace"],
        user=user.group(1) if user else "",
    )
