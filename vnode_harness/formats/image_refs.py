"""Container image references: as the runtime names them, and rewritten onto a mirror.

An air-gapped vendor's nodes pull only from its own registry, so a run can point every image it needs
at one mirror (`--image-mirror REGISTRY/PREFIX`): the reference loses its registry host and gains the
mirror's, path and tag kept — `HOST/pause:3.10.1` → `REGISTRY/ci/pause:3.10.1`,
`nginx:1.27` → `REGISTRY/ci/library/nginx:1.27`, `vnode/conformance:0.1.0` →
`REGISTRY/ci/vnode/conformance:0.1.0`.
"""

from __future__ import annotations

DEFAULT_REGISTRY = "docker.io"
"""Where container runtimes resolve an unqualified name (`nginx`): part of the reference format."""


def _split_registry(reference: str) -> tuple[str, str]:
    """(registry host or "", the rest): a first component with a dot, a port or `localhost` is a host."""
    first, _, rest = reference.partition("/")
    if rest and ("." in first or ":" in first or first == "localhost"):
        return first, rest
    return "", reference


def normalized(reference: str) -> str:
    """As the container runtime names it: `nginx:1` → `docker.io/library/nginx:1`."""
    registry, path = _split_registry(reference)
    if registry:
        return reference
    return f"{DEFAULT_REGISTRY}/{path if '/' in path else 'library/' + path}"


def mirrored(reference: str, mirror: str | None) -> str:
    """`reference` pulled from `mirror` (REGISTRY/PREFIX) instead of its own registry; unchanged without
    one."""
    if not mirror:
        return reference
    _, path = _split_registry(normalized(reference))
    return f"{mirror.rstrip('/')}/{path}"
