"""The base of every locally built image: Debian by debootstrap, imported into Docker (no registry).

The mirror is the one this host's apt already uses (read from its sources), so the images install
packages from the same archive the machine does; nothing names a mirror in the project.
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
from pathlib import Path

from vnode_harness.formats import versions
from vnode_harness.providers.kind.images.engine import ImageBuildError, StepRun

IMAGE = f"vnode/debian:{versions.DEBIAN_SUITE}"
VARIANT = "minbase"
INCLUDE = ("ca-certificates",)
_SOURCE_FILES = (Path("/etc/apt/sources.list"), *sorted(Path("/etc/apt/sources.list.d").glob("*")))


def host_mirror() -> str | None:
    """The archive this host's apt uses for the pinned Debian suite (deb822 `URIs:` with `Suites:`, or
    one-line `deb URI suite`), or None: debootstrap then uses its default Debian mirror. An archive
    listed for other suites is not one: an Ubuntu host's (a GitHub runner) serves no Debian release."""
    for path in _SOURCE_FILES:
        try:
            text = path.read_text()
        except OSError:
            continue
        for stanza in re.split(r"\n\s*\n", text):
            uris = re.search(r"^URIs:\s*(.+)$", stanza, re.M)
            suites = re.search(r"^Suites:\s*(.+)$", stanza, re.M)
            if uris and suites and versions.DEBIAN_SUITE in suites[1].split():
                return uris[1].split()[0]
        for match in re.finditer(r"^deb\s+(?:\[[^]]*\]\s+)?(\S+)\s+(\S+)", text, re.M):
            if match[2] == versions.DEBIAN_SUITE:
                return match[1]
    return None


def apt_validity_override() -> bool:
    """Whether the host's apt skips Release-file date checks (a frozen mirror); the images then must too."""
    result = subprocess.run(["apt-config", "dump"], capture_output=True, text=True, check=False)
    return 'Acquire::Check-Valid-Until "false"' in result.stdout


def inputs() -> dict[str, object]:
    return {
        "suite": versions.DEBIAN_SUITE,
        "variant": VARIANT,
        "include": INCLUDE,
        "mirror": host_mirror(),
        "validity": apt_validity_override(),
    }


def build(step: StepRun) -> None:
    if shutil.which("debootstrap") is None:
        raise ImageBuildError(
            "debootstrap is missing: `apt-get install debootstrap` (or run .ci/docker-engine.sh)"
        )
    root = step.workdir / "rootfs"
    mirror = host_mirror()
    step.progress(f"debootstrap {versions.DEBIAN_SUITE} ({VARIANT})")
    step.run(
        [
            "debootstrap",
            f"--variant={VARIANT}",
            f"--include={','.join(INCLUDE)}",
            versions.DEBIAN_SUITE,
            root,
            *([mirror] if mirror else []),
        ],
        what="debootstrap",
        timeout=1200,
    )
    if apt_validity_override():
        (root / "etc/apt/apt.conf.d/99vnode-frozen-mirror").write_text(
            'Acquire::Check-Valid-Until "false";\n'
        )
    # Like Debian's own container images: no recommends, no caches, no docs.
    (root / "etc/apt/apt.conf.d/99vnode-container").write_text(
        'APT::Install-Recommends "false";\nAPT::Install-Suggests "false";\n'
    )
    shutil.rmtree(root / "var/cache/apt/archives", ignore_errors=True)
    step.progress("docker import")
    command = f"tar -C {shlex.quote(str(root))} -c . | docker import --change 'CMD [\"/bin/bash\"]' - {IMAGE}"
    step.run(["bash", "-o", "pipefail", "-c", command], what="docker import of the debootstrap tree")
