"""Is a Docker Engine usable here? Asked before choosing or starting the kind provider.

`docker info` is the question kind itself asks first; a daemon that does not answer within a few
seconds (a stopped Docker Desktop, a socket without permission) is reported as unavailable with the
reason, so `--cluster auto` can fall back to the local provider and say why.
"""

from __future__ import annotations

import shutil
import subprocess

DEFAULT_TIMEOUT_SECONDS = 5.0


def docker_available(timeout: float = DEFAULT_TIMEOUT_SECONDS) -> tuple[bool, str]:
    """(True, "Docker Engine <version>") when the daemon answers, else (False, why not)."""
    docker = shutil.which("docker")
    if docker is None:
        return False, "the docker CLI is not on PATH"
    try:
        result = subprocess.run(
            [docker, "info", "--format", "{{.ServerVersion}}"],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return False, f"the Docker daemon did not answer `docker info` within {timeout:g} s"
    except OSError as error:
        return False, f"`docker info` could not run: {error}"
    version = result.stdout.strip()
    if result.returncode != 0 or not version:
        detail = (result.stderr or result.stdout).strip().splitlines()
        reason = detail[-1] if detail else f"exit status {result.returncode}"
        return False, f"`docker info` failed: {reason}"
    return True, f"Docker Engine {version}"
