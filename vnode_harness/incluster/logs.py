"""The suite pod's log, followed on the runner's terminal, and the pod's marker line caught in it."""

from __future__ import annotations

import codecs
import sys
import threading
from typing import Any, TextIO

from kubernetes import client

from vnode_harness.incluster.manifests import CONTAINER
from vnode_harness.incluster.pod import parse_marker


class LogFollower:
    """Follows the container's log in a thread, printing it as it comes; `marker` holds the pod's marker
    data once printed. A follow the API server cut while the pod runs is resumed (its last seconds may
    print twice); it ends when the container ends or once the marker is seen."""

    def __init__(
        self,
        core: client.CoreV1Api,
        pod: str,
        namespace: str,
        out: TextIO = sys.stdout,
        since_seconds: int | None = None,
    ) -> None:
        self.core, self.pod, self.namespace, self.out = core, pod, namespace, out
        self.since_seconds = since_seconds
        self.marker: dict[str, Any] | None = None
        self.ended = threading.Event()
        self.stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="suite-pod-log", daemon=True)

    def start(self) -> LogFollower:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()

    def _run(self) -> None:
        since = self.since_seconds
        try:
            while not self.stopping.is_set():
                try:
                    self._follow(since)
                except Exception as error:  # the API server cut the stream: say so, resume
                    if self.stopping.is_set():
                        return
                    self.out.write(f"(log stream interrupted: {type(error).__name__}; resuming)\n")
                # Once the run is packed nothing after it matters; a follow that ends while the kubelet
                # has not yet reported the container's end would otherwise replay its last seconds.
                if self.marker is not None or self._container_ended() or self.stopping.wait(timeout=2):
                    return
                since = 5
        finally:
            self.ended.set()

    def _follow(self, since: int | None) -> None:
        extra = {"since_seconds": since} if since else {}
        response = self.core.read_namespaced_pod_log(
            self.pod, self.namespace, container=CONTAINER, follow=True, _preload_content=False, **extra
        )
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        pending = ""
        try:
            for chunk in response.stream(4096):
                text = decoder.decode(chunk)
                self.out.write(text)  # as it comes: pytest's progress dots end no line
                self.out.flush()
                *lines, pending = (pending + text).split("\n")
                for line in lines:
                    self._line(line)
                if self.stopping.is_set():
                    return
            if pending:
                self.out.write("\n")
                self._line(pending)
        finally:
            response.release_conn()

    def _line(self, text: str) -> None:
        data = parse_marker(text)
        if data is not None:
            self.marker = data

    def _container_ended(self) -> bool:
        try:
            pod = self.core.read_namespaced_pod(self.pod, self.namespace)
        except client.ApiException:
            return True
        statuses = pod.status.container_statuses or []
        return any(s.name == CONTAINER and s.state and s.state.terminated for s in statuses)
