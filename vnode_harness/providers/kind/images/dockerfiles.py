"""Dockerfiles of the locally built images, generated per image: each needs a base, one binary and at
most a few Debian packages, and the classic builder (Debian's Docker 20.10) cannot take an
ENTRYPOINT from a build argument. Every FROM is the local debootstrap image or scratch."""

from __future__ import annotations

import json
from collections.abc import Sequence


def binary_image(
    base: str,
    binary: str,
    *,
    packages: Sequence[str] = (),
    entrypoint: Sequence[str] | None = None,
    user: str | None = None,
) -> str:
    """A toolchain binary in the Debian base, at /usr/local/bin, with the packages it shells out to."""
    lines = [f"FROM {base}"]
    if packages:
        lines.append(
            "RUN apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "
            f"--no-install-recommends {' '.join(packages)} && rm -rf /var/lib/apt/lists/*"
        )
    lines.append(f"COPY {binary} /usr/local/bin/{binary}")
    if user:
        lines.append(f"USER {user}")
    lines.append(f"ENTRYPOINT {json.dumps(list(entrypoint or [f'/usr/local/bin/{binary}']))}")
    return "\n".join(lines) + "\n"


def static_image(binary: str, *, user: str | None = None) -> str:
    """A static binary alone, FROM scratch, at /<binary> (as CoreDNS's and pause's upstream images)."""
    lines = ["FROM scratch", f"COPY {binary} /{binary}"]
    if user:
        lines.append(f"USER {user}")
    lines.append(f'ENTRYPOINT ["/{binary}"]')
    return "\n".join(lines) + "\n"


def packages_image(
    base: str, packages: Sequence[str], entrypoint: Sequence[str], *, copies: Sequence[str] = ()
) -> str:
    """Debian packages on the base (nginx for test pods, python3 for the sidecar stand-in)."""
    lines = [
        f"FROM {base}",
        "RUN apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "
        f"--no-install-recommends {' '.join(packages)} && rm -rf /var/lib/apt/lists/*",
        *(f"COPY {name} /usr/local/bin/{name}" for name in copies),
        f"ENTRYPOINT {json.dumps(list(entrypoint))}",
    ]
    return "\n".join(lines) + "\n"


def files_image(directory: str, target: str) -> str:
    """A directory of files alone (the reference implementation's wheelhouse, used with COPY --from)."""
    return f"FROM scratch\nCOPY {directory}/ {target}/\n"
