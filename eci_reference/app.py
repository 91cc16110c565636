"""The reference implementation's process: one entry point for the host-process and in-cluster modes.

    python -m eci_reference --kubeconfig PATH --listen HOST:PORT --workdir DIR [--cloud-config PATH]
    python -m eci_reference --in-cluster --listen 0.0.0.0:8443 --service-name NAME --service-namespace NS

Start order, and why:

1. cloud config and serving certificate — local, so a broken installation fails before any network;
2. API client, then the profile: created with the defaults if absent, then read once. An unreachable
   API server ends the process here with exit code 2, naming the server URL and the error, instead
   of a process that looks alive but serves nothing;
3. the admission server listens, and we check that it answers over TLS with our own CA;
4. only then ``vk-webhook`` (and the StorageClass) are reconciled, so the API server never calls a
   webhook that is not up (with ``failurePolicy: Fail`` that would block the pods it selects);
5. the watches: profile, namespaces, claims and volumes; and certificate renewal.

SIGTERM or SIGINT (Ctrl-C) stops the watches and the server and exits 0. ``vk-webhook`` is left in
place on purpose: removing it at every stop would let ECI pods slip to regular nodes during a rolling
restart; with it in place they are refused (and retried by their controllers) for a few seconds.

Logs: one JSON object per line on stderr (``ts``, ``level``, ``logger``, ``msg``; a message that is
itself a JSON object — the admission decisions — is embedded as ``fields``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ipaddress
import json
import logging
import signal
import ssl
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import aiohttp
from aiohttp import web
from kubernetes_asyncio import client, config

from eci_reference.admission import build_admission_app
from eci_reference.certs import (
    CertificateError,
    ServingCertificate,
    ServingNames,
    ensure_serving_certificate,
)
from eci_reference.cloud import CloudConfig, CloudConfigError, load_cloud_config
from eci_reference.constants import HEALTHZ_PATH
from eci_reference.controller import EventRecorder, NamespaceLabelCache, ProfileController, describe_error
from eci_reference.profile import DEFAULT_PROFILE_DATA
from eci_reference.storage import DiskProvisioner, StorageReconciler
from eci_reference.webhook_config import Endpoint, ServiceEndpoint, UrlEndpoint, WebhookConfigurator

logger = logging.getLogger("eci_reference.app")

EXIT_OK: Final = 0
EXIT_FAILED: Final = 1
EXIT_USAGE_OR_STARTUP: Final = 2
LOG_LEVELS: Final = ("debug", "info", "warning", "error")
DEFAULT_SERVICE_PORT: Final = 443
CERTIFICATE_DIRECTORY: Final = "tls"
#: The start-up calls to the API server must answer within this, or the process exits with 2.
STARTUP_API_TIMEOUT_SECONDS: Final = 20.0
SELF_CHECK_TIMEOUT_SECONDS: Final = 10.0
CERTIFICATE_CHECK_SECONDS: Final = 12 * 3600.0


# --- options -------------------------------------------------------------------------------------


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
        prog="eci-reference",
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
        workdir = args.workdir or Path(tempfile.gettempdir()) / "eci-reference"
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


def default_profile_data(cloud: CloudConfig) -> dict[str, str]:
    """The seed document's defaults with the simulated cloud's vSwitches (ARCHITECTURE.md, "Profile")."""
    return {**DEFAULT_PROFILE_DATA, "vSwitchIds": ",".join(cloud.vswitch_ids)}


# --- logging -------------------------------------------------------------------------------------


class JsonLineFormatter(logging.Formatter):
    """One JSON object per line: easy to grep, and to parse when a test wants to."""

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
        }
        fields = _json_object(message)
        if fields is None:
            entry["msg"] = message
        else:
            entry["fields"] = fields
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def _json_object(message: str) -> dict[str, Any] | None:
    if not (message.startswith("{") and message.endswith("}")):
        return None
    try:
        decoded = json.loads(message)
    except ValueError:
        return None
    return decoded if isinstance(decoded, dict) else None


def configure_logging(level: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonLineFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.WARNING)  # libraries: warnings only
    logging.getLogger("eci_reference").setLevel(level.upper())


# --- the process ---------------------------------------------------------------------------------


class _CurrentCertificate:
    """The certificate being served; replaced in place when renewed."""

    def __init__(self, certificate: ServingCertificate) -> None:
        self.certificate = certificate

    def ca_bundle(self) -> bytes:
        return self.certificate.ca_bundle


async def _load_client_configuration(options: Options) -> Any:
    configuration = client.Configuration()
    if options.kubeconfig is None:
        config.load_incluster_config(client_configuration=configuration)
    else:
        if not options.kubeconfig.is_file():
            raise FileNotFoundError(f"kubeconfig {options.kubeconfig} does not exist")
        await config.load_kube_config(
            config_file=str(options.kubeconfig), client_configuration=configuration, persist_config=False
        )
    return configuration


async def _wait_until_serving(options: Options, ca_pem: bytes) -> None:
    """GET /healthz over TLS, verifying the chain with our CA (by address, so no hostname check)."""
    context = ssl.create_default_context(cadata=ca_pem.decode("ascii"))
    context.check_hostname = False
    host = options.dial_host
    url = f"https://{f'[{host}]' if ':' in host else host}:{options.listen_port}{HEALTHZ_PATH}"
    deadline = asyncio.get_running_loop().time() + SELF_CHECK_TIMEOUT_SECONDS
    last_error = "no answer"
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as session:
        while asyncio.get_running_loop().time() < deadline:
            try:
                async with session.get(url, ssl=context) as response:
                    if response.status == 200:
                        return
                    last_error = f"HTTP {response.status}"
            except (aiohttp.ClientError, TimeoutError) as error:
                last_error = describe_error(error)
            await asyncio.sleep(0.2)
    raise RuntimeError(f"the admission server does not answer {url}: {last_error}")


async def _renew_certificates(
    options: Options, current: _CurrentCertificate, context: ssl.SSLContext, controller: ProfileController
) -> None:
    """Renew the serving certificate in place (new connections get it) and re-apply the caBundle."""
    directory = options.workdir / CERTIFICATE_DIRECTORY
    while True:
        await asyncio.sleep(CERTIFICATE_CHECK_SECONDS)
        try:
            renewed = await asyncio.to_thread(ensure_serving_certificate, directory, options.serving_names())
        except CertificateError as error:
            logger.error("renewing the serving certificate failed: %s", error)
            continue
        if renewed.issued:
            renewed.load_into(context)
            current.certificate = renewed
            logger.info("renewed the serving certificate (valid until %s)", renewed.not_after.isoformat())
            await controller.reconcile()


class StartupError(Exception):
    """The process cannot start; the message says why, and the exit code is 2."""


@dataclass
class _Prepared:
    """What start-up builds before it talks to the cluster."""

    cloud: CloudConfig
    certificate: _CurrentCertificate
    ssl_context: ssl.SSLContext
    configuration: Any


async def _prepare(options: Options) -> _Prepared:
    """Cloud config, serving certificate and client configuration: local, so checked first."""
    try:
        cloud = load_cloud_config(options.cloud_config)
    except CloudConfigError as error:
        raise StartupError(str(error)) from error
    try:
        directory = options.workdir / CERTIFICATE_DIRECTORY
        certificate = await asyncio.to_thread(ensure_serving_certificate, directory, options.serving_names())
        ssl_context = certificate.ssl_context()
    except (CertificateError, OSError, ssl.SSLError) as error:
        raise StartupError(f"cannot prepare the serving certificate in {options.workdir}: {error}") from error
    logger.info(
        "serving certificate %s (valid until %s)",
        "issued" if certificate.issued else "reused",
        certificate.not_after.isoformat(),
    )
    try:
        configuration = await _load_client_configuration(options)
    except Exception as error:
        where = "the in-cluster service account" if options.in_cluster else f"kubeconfig {options.kubeconfig}"
        raise StartupError(f"cannot load {where}: {describe_error(error)}") from error
    return _Prepared(cloud, _CurrentCertificate(certificate), ssl_context, configuration)


async def _load_profile(controller: ProfileController, server: str) -> None:
    """Create the profile if absent and read it once; an unusable API server is a StartupError."""
    try:
        async with asyncio.timeout(STARTUP_API_TIMEOUT_SECONDS):
            await controller.ensure_profile()
            await controller.load()
    except Exception as error:
        if isinstance(error, TimeoutError):
            detail = f"no answer within {STARTUP_API_TIMEOUT_SECONDS:.0f}s"
        else:
            detail = describe_error(error)
        raise StartupError(f"cannot use the Kubernetes API server at {server}: {detail}") from error


async def _start_admission(
    options: Options, controller: ProfileController, prepared: _Prepared
) -> web.AppRunner:
    """Listen, and check that the server answers over TLS before anyone is told to call it."""
    runner = web.AppRunner(build_admission_app(controller), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, options.listen_host, options.listen_port, ssl_context=prepared.ssl_context)
    try:
        try:
            await site.start()
        except OSError as error:
            raise StartupError(
                f"cannot listen on {options.listen_host}:{options.listen_port}: {error}"
            ) from error
        try:
            await _wait_until_serving(options, prepared.certificate.certificate.ca_pem)
        except RuntimeError as error:  # vk-webhook must not point at a server that does not answer
            raise StartupError(str(error)) from error
    except BaseException:
        await runner.cleanup()
        raise
    logger.info(
        "admission server listening on %s:%d; vk-webhook endpoint %s",
        options.listen_host,
        options.listen_port,
        options.endpoint(),
    )
    return runner


async def serve(options: Options) -> int:
    """Run until cancelled; returns the exit code of a start-up failure or of a crashed task."""
    try:
        prepared = await _prepare(options)
    except StartupError as error:
        logger.error("%s", error)
        return EXIT_USAGE_OR_STARTUP

    async with client.ApiClient(prepared.configuration) as api:
        api.user_agent = "eci-reference"
        events = EventRecorder(api)
        namespaces = NamespaceLabelCache(api)
        webhook = WebhookConfigurator(api, options.endpoint(), prepared.certificate.ca_bundle)
        storage = StorageReconciler(api, prepared.cloud)
        controller = ProfileController(
            api,
            default_data=default_profile_data(prepared.cloud),
            events=events,
            namespaces=namespaces,
            reconcilers=(webhook.reconcile, storage.reconcile),
        )
        provisioner = DiskProvisioner(api, prepared.cloud, events)
        try:
            await _load_profile(controller, prepared.configuration.host)
            runner = await _start_admission(options, controller, prepared)
        except StartupError as error:
            logger.error("%s", error)
            return EXIT_USAGE_OR_STARTUP
        try:
            await controller.reconcile()  # a failure is logged and retried by the resync loop
            return await _run_loops(
                controller.run(),
                namespaces.run(),
                provisioner.run(),
                _renew_certificates(options, prepared.certificate, prepared.ssl_context, controller),
            )
        finally:
            await runner.cleanup()


async def _run_loops(*loops: Any) -> int:
    """Run the long-lived loops; they only end by cancellation, so an exception is a crash (exit 1)."""
    try:
        async with asyncio.TaskGroup() as tasks:
            for loop in loops:
                tasks.create_task(loop)
    except ExceptionGroup as crashed:
        for error in crashed.exceptions:
            logger.error("a loop crashed: %s", describe_error(error), exc_info=error)
        return EXIT_FAILED
    return EXIT_OK


async def run(options: Options) -> int:
    """``serve`` with signal handling: SIGTERM/SIGINT cancel it and the process exits 0."""
    task = asyncio.create_task(serve(options))
    loop = asyncio.get_running_loop()
    stopped: list[int] = []

    def stop(signum: int) -> None:
        if not stopped:
            logger.info(
                "received %s: stopping (vk-webhook stays in place, see eci_reference.app)",
                signal.Signals(signum).name,
            )
        stopped.append(signum)
        task.cancel()

    installed: list[int] = []
    for signum in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):  # not on this platform / thread
            loop.add_signal_handler(signum, stop, signum)
            installed.append(signum)
    try:
        return await task
    except asyncio.CancelledError:
        if stopped:
            logger.info("stopped")
            return EXIT_OK
        raise
    finally:
        for installed_signal in installed:
            loop.remove_signal_handler(installed_signal)


def main(argv: Sequence[str] | None = None) -> int:
    options = parse_args(argv)
    configure_logging(options.log_level)
    try:
        return asyncio.run(run(options))
    except KeyboardInterrupt:  # a second Ctrl-C, or one before the handlers were installed
        return EXIT_OK
