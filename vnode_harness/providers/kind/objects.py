"""Reading Kubernetes client objects whose fields the typed client declares optional.

Every status field of the client's models may be None (an object just created has no status yet);
these helpers read them in one place, treating a missing field as "not there yet".
"""

from __future__ import annotations

from typing import Any


def name_of(obj: Any) -> str:
    metadata = getattr(obj, "metadata", None)
    return str(getattr(metadata, "name", "") or "")


def annotations_of(obj: Any) -> dict[str, str]:
    metadata = getattr(obj, "metadata", None)
    return dict(getattr(metadata, "annotations", None) or {})


def conditions_of(obj: Any) -> dict[str, str]:
    """status.conditions as {type: status}; {} when there is no status yet."""
    status = getattr(obj, "status", None)
    return {str(c.type): str(c.status) for c in getattr(status, "conditions", None) or []}


def has_condition(obj: Any, condition: str) -> bool:
    return conditions_of(obj).get(condition) == "True"


def status_count(obj: Any, field: str) -> int:
    """A replica count of status (readyReplicas, updatedReplicas, ...); 0 when not reported."""
    return int(getattr(getattr(obj, "status", None), field, None) or 0)


def container_names(pod: Any) -> list[str]:
    spec = getattr(pod, "spec", None)
    return [str(container.name) for container in getattr(spec, "containers", None) or []]
