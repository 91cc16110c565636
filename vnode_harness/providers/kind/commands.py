"""Running the host commands of the kind provider (docker, kind, kubectl, helm) with their output logged.

One function so that every command the provider runs goes through the same place: failures name the
command and quote the end of its log, and unit tests can record the command lines without a Docker
Engine (the kind conformance run and the kind fault scenario run them for real).
"""

from __future__ import annotations

import shlex
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

from vnode_harness.plumbing.processes import log_tail, output_tail
from vnode_harness.run_context import ClusterError


def run(
    argv: Sequence[str],
    *,
    what: str,
    log: Path | None = None,
    timeout: float = 600,
    input_text: str | None = None,
    env: Mapping[str, str] | None = None,
) -> str:
    """Run `argv`; return its stdout, or raise ClusterError saying `what` failed and why.

    With `log`, stdout and stderr go to that file (appended, after the command line) and "" is returned:
    long builds stay out of the terminal but the file explains a failure.
    """
    command = [str(argument) for argument in argv]
    try:
        if log is None:
            result = subprocess.run(
                command,
                input=input_text,
                capture_output=True,
                text=True,
                timeout=timeout,
                env=env,
                check=False,
            )
            if result.returncode != 0:
                detail = output_tail(result.stderr or result.stdout)
                raise ClusterError(
                    f"{what} failed (exit {result.returncode}): {shlex.join(command)}\n{detail}"
                )
            return result.stdout
        log.parent.mkdir(parents=True, exist_ok=True)
        with open(log, "a") as out:
            out.write(f"$ {shlex.join(command)}\n")
            out.flush()
            result = subprocess.run(
                command,
                input=input_text,
                stdout=out,
                stderr=subprocess.STDOUT,
                text=True,
                timeout=timeout,
                env=env,
                check=False,
            )
    except FileNotFoundError as error:
        raise ClusterError(f"{what} failed: {command[0]} is not installed ({error})") from error
    except subprocess.TimeoutExpired as error:
        raise ClusterError(f"{what} did not finish within {timeout:g} s: {shlex.join(command)}") from error
    if result.returncode != 0:
        raise ClusterError(f"{what} failed (exit {result.returncode}); log {log}:\n{log_tail(log)}")
    return ""
