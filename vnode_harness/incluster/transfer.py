"""The run directory from the suite's pod to the host, through the exec API (what `kubectl cp` does).

The pod packed it into one archive; the runner streams `cat ARCHIVE` over the exec websocket in binary,
checks the size the pod announced, unpacks it into `reports/runs/<run>/` (the data filter: no path
outside the target, no links or devices), and touches the pod's `fetched` file so it may exit.
"""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

from kubernetes import client
from kubernetes.stream import stream

from vnode_harness.incluster.manifests import CONTAINER
from vnode_harness.incluster.pod import FETCHED_NAME


class TransferError(RuntimeError):
    """The archive could not be read from the pod, or was not what the pod announced."""


def exec_in_pod(core: client.CoreV1Api, pod: str, namespace: str, command: list[str]) -> bytes:
    """Run `command` in the suite's container; its standard output, or TransferError with its stderr."""
    response = stream(
        core.connect_get_namespaced_pod_exec,
        pod,
        namespace,
        container=CONTAINER,
        command=command,
        stderr=True,
        stdin=False,
        stdout=True,
        tty=False,
        _preload_content=False,
        binary=True,
    )
    out, err = io.BytesIO(), io.BytesIO()
    try:
        while response.is_open():
            response.update(timeout=5)
            out.write(response.read_stdout() or b"")
            err.write(response.read_stderr() or b"")
        out.write(response.read_stdout() or b"")
        err.write(response.read_stderr() or b"")
        try:
            status = response.returncode
        except (TypeError, KeyError, ValueError):  # no status on the error channel: the stream was cut
            status = -1
    finally:
        response.close()
    if status not in (0, None):
        message = err.getvalue().decode(errors="replace").strip()
        raise TransferError(f"`{' '.join(command)}` in {namespace}/{pod} exited {status}: {message}")
    return out.getvalue()


def fetch_run(
    core: client.CoreV1Api, pod: str, namespace: str, *, archive: str, size: int, runs_dir: Path
) -> Path:
    """Copy the pod's archive, unpack it under `runs_dir`, tell the pod; the run directory."""
    data = exec_in_pod(core, pod, namespace, ["cat", archive])
    if len(data) != size:
        raise TransferError(f"{archive} in {namespace}/{pod}: read {len(data)} bytes, the pod wrote {size}")
    runs_dir.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        tops = {Path(member.name).parts[0] for member in tar.getmembers() if member.name}
        if len(tops) != 1:
            raise TransferError(f"{archive} holds {sorted(tops)}, not one run directory")
        tar.extractall(runs_dir, filter="data")
    exec_in_pod(core, pod, namespace, ["touch", str(Path(archive).parent / FETCHED_NAME)])
    return runs_dir / tops.pop()
