"""STAND-IN for Istio's proxyv2 image (pilot-agent + Envoy) on regular kind nodes.

Envoy cannot be built from the package registries this project may use, so the locally built kind
image set runs this instead of the sidecar's processes. It does only what a pod's READY count needs:
`istio-iptables` (the istio-init container) exits 0 without redirecting traffic, and `proxy` (the
istio-proxy container) answers the sidecar's readiness endpoint, :15021/healthz/ready, until SIGTERM.
It proxies no traffic. The conformance report and docs/kind.md name it wherever it runs; pods on
virtual nodes never start it (virtual-kubelet's mock provider runs no container).
"""

import signal
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

READINESS_PORT = 15021


class Readiness(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        ready = self.path.startswith("/healthz/ready")
        self.send_response(200 if ready else 404)
        self.end_headers()

    def log_message(self, *_: object) -> None:
        pass


def main() -> int:
    command = sys.argv[1] if len(sys.argv) > 1 else ""
    print(f"pilot-agent STAND-IN (no Envoy): {' '.join(sys.argv[1:])}", flush=True)
    if command != "proxy":
        return 0
    server = ThreadingHTTPServer(("0.0.0.0", READINESS_PORT), Readiness)  # noqa: S104 (a pod port)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
