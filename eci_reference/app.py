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

The command line is ``eci_reference.options``, the log format ``eci_reference.logs``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

import aiohttp
from aiohttp import web
from kubernetes_asyncio import client, config

from eci_reference.admission import build_admission_app
from eci_reference.certs import CertificateError, ServingCertificate, ensure_serving_certificate
from eci_reference.cloud import CloudConfig, CloudConfigError, load_cloud_config
from eci_reference.constants import COMPONENT_NAME, HEALTHZ_PATH
from eci_reference.controller import NamespaceLabelCache, ProfileController
from eci_reference.events import EventRecorder
from eci_reference.kube import describe_error
from eci_reference.logs import configure_logging
from eci_reference.options import Options, parse_args
from eci_reference.profile import DEFAULT_PROFILE_DATA
from eci_reference.storage import DiskProvisioner, StorageReconciler
from eci_reference.webhook_config import WebhookConfigurator

logger = logging.getLogger("eci_reference.app")

EXIT_OK: Final = 0
EXIT_FAILED: Final = 1
EXIT_USAGE_OR_STARTUP: Final = 2
CERTIFICATE_DIRECTORY: Final = "tls"
#: The start-up calls to the API server must answer within this, or the process exits with 2.
STARTUP_API_TIMEOUT_SECONDS: Final = 20.0
SELF_CHECK_TIMEOUT_SECONDS: Final = 10.0
CERTIFICATE_CHECK_SECONDS: Final = 12 * 3600.0


def default_profile_data(cloud: CloudConfig) -> dict[str, str]:
    """The seed document's defaults with the simulated cloud's vSwitches (ARCHITECTURE.md, "Profile")."""
    return {**DEFAULT_PROFILE_DATA, "vSwitchIds": ",".join(cloud.vswitch_ids)}


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
        api.user_agent = COMPONENT_NAME
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
