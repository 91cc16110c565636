"""Dockerfiles of the locally built images, generated per image: most need a base, one binary and at
most a few Debian packages (proxyv2: two binaries and a template), and the classic builder (Debian's
Docker 20.10) cannot take an ENTRYPOINT from a build argument. Every FROM is the local debootstrap
image or scratch."""

from __future__ import annotations

import json
from collections.abc import Sequence


def apt_install(packages: Sequence[str]) -> str:
    """A RUN line that installs Debian packages and leaves neither the package lists nor apt's caches:
    the debootstrap base has no docker-clean hook, and /var/cache/apt (the .debs and apt's two
    ~40 MB .bin caches) added 76 to 85 MB to every image a kind start loads into its node."""
    return (
        "RUN apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "
        f"--no-install-recommends {' '.join(packages)} && apt-get clean && rm -rf /var/lib/apt/lists/*"
    )


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
    if packages:  # flannel's, which lives in the node image (no run loads it): left as built
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
    """Debian packages on the base (nginx for test pods)."""
    lines = [
        f"FROM {base}",
        apt_install(packages),
        *(f"COPY {name} /usr/local/bin/{name}" for name in copies),
        f"ENTRYPOINT {json.dumps(list(entrypoint))}",
    ]
    return "\n".join(lines) + "\n"


PROXY_PACKAGES = ("ca-certificates", "iptables")
"""What upstream's distroless proxyv2 base holds besides glibc: `pilot-agent istio-iptables` (the
istio-init container) shells out to iptables; istiod's and external CAs are checked against the CAs."""
BOOTSTRAP_TEMPLATE = "/var/lib/istio/envoy/envoy_bootstrap_tmpl.json"
"""Where pilot-agent looks for Istio's Envoy bootstrap template (upstream Dockerfile.proxyv2)."""
PROXY_UID = 1337
"""istio-proxy, the user the sidecar runs as and whose traffic istio-iptables exempts."""


def proxyv2_image(base: str, *, proxy_sha: str) -> str:
    """Istio's proxyv2 as upstream's Dockerfile.proxyv2 assembles it, on the Debian base: pilot-agent,
    Envoy, the bootstrap template, iptables set to nft as upstream's base does, user istio-proxy.
    `envoy --version` runs at build time, so an Envoy that cannot run on this base fails the build."""
    lines = [
        f"FROM {base}",
        apt_install(PROXY_PACKAGES) + " && update-alternatives --set iptables /usr/sbin/iptables-nft "
        "&& update-alternatives --set ip6tables /usr/sbin/ip6tables-nft",
        f"RUN useradd -m --uid {PROXY_UID} istio-proxy",
        f"COPY envoy_bootstrap.json {BOOTSTRAP_TEMPLATE}",
        "COPY envoy /usr/local/bin/envoy",
        'RUN ["/usr/local/bin/envoy", "--version"]',
        f"ENV ISTIO_META_ISTIO_PROXY_SHA={proxy_sha}",
        "COPY pilot-agent /usr/local/bin/pilot-agent",
        f"USER {PROXY_UID}:{PROXY_UID}",
        'ENTRYPOINT ["/usr/local/bin/pilot-agent"]',
    ]
    return "\n".join(lines) + "\n"


def files_image(directory: str, target: str) -> str:
    """A directory of files alone (the reference implementation's wheelhouse, used with COPY --from)."""
    return f"FROM scratch\nCOPY {directory}/ {target}/\n"
