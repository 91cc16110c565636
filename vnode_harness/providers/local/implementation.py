"""Start an implementation under test as a host process next to a local cluster.

The implementation file's `install.local.command` is run with `{kubeconfig}`, `{port}`, `{workdir}`
and `{python}` filled in; the harness records the process (for "was it restarted?" checks and for
cleanup) and waits for its `readyUrl` to answer 200. The webhook's certificate is the
implementation's own, so the readiness probe does not verify it: it only asks "are you up?".
"""

from __future__ import annotations

import ssl
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from vnode_harness.formats.implementation import Implementation, PlaceholderValues
from vnode_harness.plumbing.hostnet import reserved_ports
from vnode_harness.plumbing.processes import RecordedProcess, exited_early, start_process
from vnode_harness.plumbing.waits import WaitTimeout, wait_for
from vnode_harness.run_context import ClusterError, ClusterHandle


@dataclass(frozen=True)
class LocalImplementation:
    process: RecordedProcess
    pid_dir: Path

    def stop(self) -> None:
        """Stop this process only: `pid_dir` may be a cluster's, shared with its other processes."""
        self.process.stop()
        (self.pid_dir / f"{self.process.name}.json").unlink(missing_ok=True)


def _answers_ok(url: str) -> tuple[bool | None, str]:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # readiness only; the implementation's CA is its own business
    try:
        with urllib.request.urlopen(url, timeout=2, context=context) as response:  # noqa: S310
            return (True if response.status == 200 else None), f"HTTP {response.status}"
    except urllib.error.HTTPError as error:
        return None, f"HTTP {error.code}"
    except OSError as error:
        return None, str(error)


def start_local_implementation(
    implementation: Implementation,
    cluster: ClusterHandle,
    workdir: Path,
    timeout: float = 60,
    *,
    pid_dir: Path | None = None,
) -> LocalImplementation:
    """Start the implementation and wait until it answers; it is recorded under `pid_dir` (default:
    `workdir/pids`) -- a local cluster's own pid directory makes `vnode cluster down` stop it too."""
    local = implementation.install.local
    if local is None:
        raise ClusterError(
            f"{implementation.metadata.project} has no install.local in its implementation file: "
            "it cannot run on the local cluster (use --cluster existing with a cluster where it is installed)"
        )
    pid_dir = pid_dir or workdir / "pids"
    with reserved_ports(1) as (port,):
        values = PlaceholderValues(
            kubeconfig=str(cluster.kubeconfig), port=port, workdir=str(workdir), python=sys.executable
        )
        command = local.render(values)
        process = start_process(
            implementation.metadata.project,
            command.command,
            log=cluster.logs_dir / f"{implementation.metadata.project}.log",
            pid_dir=pid_dir,
            env=command.env,
        )
        started = LocalImplementation(process=process, pid_dir=pid_dir)
        if command.ready_url:

            def probe() -> tuple[bool | None, str]:
                failure = exited_early(process)
                if failure:
                    raise failure
                return _answers_ok(command.ready_url or "")

            try:
                wait_for(f"{process.name} to answer {command.ready_url}", probe, timeout=timeout)
            except BaseException as error:
                started.stop()
                if isinstance(error, WaitTimeout):
                    raise ClusterError(f"{error}; its log: {process.log}") from error
                raise
    return started
