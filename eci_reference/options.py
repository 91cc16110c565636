"""The command line of ``eci-reference``: the two modes, and every usage error with its message.

Cross-checks argparse cannot express (``--in-cluster`` needs the Service flags, the host process
needs ``--workdir``) are done here, so a wrong command line exits 2 before anything starts.
"""

from __future__ import annotations

import argparse
import ipaddress
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from eci_reference.certs import ServingNames
from eci_reference.constants import COMPONENT_NAME
from eci_reference.webhook_config import Endpoint, ServiceEndpoint, UrlEndpoint

LOG_LEVELS: Final = ("debug", "info", "warning", "error")
DEFAULT_SERVICE_PORT: Final = 443


@dataclass(frozen=True)
class Options:
    """The validated command line."""

    listen_host: str
    listen_port: int
    workdir: Path
    kubeconfig: Path | None = None
    service_name: str | None = None
    service_namespace: str | None = None
    service_port: int = DEFAULT_SERVICE_PORT
    cloud_config: Path | None = None
    log_level: str = "info"

    @property
    def in_cluster(self) -> bool:
        return self.kubeconfig is None

    @property
    def dial_host(self) -> str:
        """The address a client on this machine dials: the listen host, or loopback for a wildcard."""
        try:
            address = ipaddress.ip_address(self.listen_host)
        except ValueError:
            return self.listen_host
        if address.is_unspecified:
            return "::1" if address.version == 6 else "127.0.0.1"
        return self.listen_host

    def endpoint(self) -> Endpoint:
        if self.service_name and self.service_namespace:
            return ServiceEndpoint(
                namespace=self.service_namespace, name=self.service_name, port=self.service_port
            )
        return UrlEndpoint(host=self.dial_host, port=self.listen_port)

    def serving_names(self) -> ServingNames:
        if self.service_name and self.service_namespace:
            return ServingNames.for_service(self.service_name, self.service_namespace)
        return ServingNames.for_host(self.dial_host)


def parse_listen(text: str) -> tuple[str, int]:
    """``HOST:PORT`` or ``[IPv6]:PORT``; raises ValueError with a message for the user."""
    host, colon, port_text = text.rpartition(":")
    if not colon or not host:
        raise ValueError(f"expected HOST:PORT (e.g. 127.0.0.1:8443), got {text!r}")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            raise ValueError(f"{host!r} in {text!r} is not an IPv6 address") from None
    elif ":" in host:
        raise ValueError(f"an IPv6 address needs brackets, e.g. [::1]:8443, got {text!r}")
    if not port_text.isdigit() or not 1 <= int(port_text) <= 65535:
        raise ValueError(f"port must be a number from 1 to 65535, got {port_text!r} in {text!r}")
    return host, int(port_text)


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=COMPONENT_NAME,
        description="Reference implementation of ack-virtual-node's documented behavior: the vk-webhook "
        "admission webhook, the eci-profile controller and the zone-aware eci-disk provisioner.",
    )
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--kubeconfig", type=Path, help="host-process mode: the kubeconfig of the cluster")
    mode.add_argument("--in-cluster", action="store_true", help="run in a pod, with its service account")
    parser.add_argument(
        "--listen", required=True, metavar="HOST:PORT", help="where the admission server listens"
    )
    parser.add_argument(
        "--workdir",
        type=Path,
        help="directory for the serving certificate (kept across restarts); required with --kubeconfig, "
        "default <tmp>/eci-reference in a cluster",
    )
    parser.add_argument(
        "--cloud-config", type=Path, help="the simulated cloud (default: the packaged cloud.yaml)"
    )
    parser.add_argument("--service-name", help="in-cluster: the webhook's Service name")
    parser.add_argument("--service-namespace", help="in-cluster: the webhook's Service namespace")
    parser.add_argument(
        "--service-port", type=int, default=DEFAULT_SERVICE_PORT, help="in-cluster: the Service port (443)"
    )
    parser.add_argument("--log-level", default="info", choices=LOG_LEVELS, type=str.lower)
    return parser


def _service_flags(args: argparse.Namespace) -> tuple[tuple[str, str | None], ...]:
    return (("--service-name", args.service_name), ("--service-namespace", args.service_namespace))


def parse_args(argv: Sequence[str] | None = None) -> Options:
    """Parse and cross-check the command line; usage errors exit with code 2 (argparse's convention)."""
    parser = _build_parser()
    args = parser.parse_args(argv)
    try:
        host, port = parse_listen(args.listen)
    except ValueError as error:
        parser.error(f"--listen: {error}")
    if args.in_cluster:
        missing = [flag for flag, value in _service_flags(args) if not value]
        if missing:
            parser.error(f"--in-cluster needs {' and '.join(missing)} (the Service the API server calls)")
        if not 1 <= args.service_port <= 65535:
            parser.error(f"--service-port must be from 1 to 65535, got {args.service_port}")
        workdir = args.workdir or Path(tempfile.gettempdir()) / COMPONENT_NAME
        kubeconfig = None
    else:
        given = [flag for flag, value in _service_flags(args) if value]
        if given:
            parser.error(
                f"{' and '.join(given)} only apply with --in-cluster (the host process is called by URL)"
            )
        if args.workdir is None:
            parser.error("--workdir is required with --kubeconfig (the serving certificate is kept there)")
        workdir = args.workdir
        kubeconfig = args.kubeconfig
    return Options(
        listen_host=host,
        listen_port=port,
        workdir=workdir,
        kubeconfig=kubeconfig,
        service_name=args.service_name if args.in_cluster else None,
        service_namespace=args.service_namespace if args.in_cluster else None,
        service_port=args.service_port,
        cloud_config=args.cloud_config,
        log_level=args.log_level,
    )
