"""The reference implementation's process: one entry point for the host process and in-cluster modes.

Start order: certificate → API client → profile (created with the defaults if absent; an unreachable
API server ends the process with exit code 2 and the server's URL) → admission server listening →
vk-webhook and StorageClass reconciled (only now, so the API server never calls a webhook that is not
up) → watches. SIGTERM / Ctrl-C stop it cleanly with exit 0, leaving vk-webhook in place: removing it
at every restart would let ECI pods slip to regular nodes during a rolling restart.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import signal
import sys
from pathlib import Path

import aiohttp
from aiohttp import web
from kubernetes_asyncio import client, config
from kubernetes_asyncio.client.exceptions import ApiException

from eci_reference.admission import build_admission_app
from eci_reference.constants import SIMULATED_REGION, SIMULATED_VSWITCH_ZONES
from eci_reference.runtime.certs import make_serving_certificate
from eci_reference.runtime.controller import Controller
from eci_reference.runtime.webhook_config import client_config

log = logging.getLogger("eci_reference")


class _JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": self.formatTime(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return json.dumps(entry)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="eci-reference", description="reference virtual-node implementation"
    )
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--kubeconfig", type=Path, help="host-process mode: the cluster's kubeconfig")
    mode.add_argument("--in-cluster", action="store_true", help="run inside the cluster (service account)")
    parser.add_argument("--listen", default="127.0.0.1:8443", help="HOST:PORT of the admission server")
    parser.add_argument(
        "--workdir", type=Path, default=Path("eci-reference-work"), help="certificates go here"
    )
    parser.add_argument("--service-name", default="eci-reference", help="in-cluster: the webhook Service")
    parser.add_argument("--service-namespace", default="kube-system", help="in-cluster: its namespace")
    parser.add_argument("--service-port", type=int, default=443)
    parser.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    args = parser.parse_args(argv)
    host, _, port = args.listen.rpartition(":")
    if not host or not port.isdigit():
        parser.error(f"--listen must be HOST:PORT, got {args.listen!r}")
    args.host, args.port = host, int(port)
    return args


async def serve(args: argparse.Namespace) -> int:
    if args.in_cluster:
        config.load_incluster_config()
        hosts = [
            f"{args.service_name}.{args.service_namespace}.svc",
            f"{args.service_name}.{args.service_namespace}.svc.cluster.local",
        ]
    else:
        await config.load_kube_config(config_file=str(args.kubeconfig))
        hosts = [args.host]
    certificate = make_serving_certificate(hosts, args.workdir)
    webhook_client = (
        client_config(
            certificate.ca_bundle, service=(args.service_namespace, args.service_name, args.service_port)
        )
        if args.in_cluster
        else client_config(certificate.ca_bundle, url=f"https://{args.host}:{args.port}")
    )
    zones = sorted(set(SIMULATED_VSWITCH_ZONES.values()))
    async with client.ApiClient() as api:
        api.user_agent = "eci-reference"
        controller = Controller(
            api, webhook_client, SIMULATED_REGION, zones[0], ",".join(SIMULATED_VSWITCH_ZONES)
        )
        app = build_admission_app(controller)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, args.host, args.port, ssl_context=certificate.ssl_context)
        try:
            await site.start()
        except OSError as error:
            log.error("cannot listen on %s:%s: %s", args.host, args.port, error)
            return 2
        try:
            await controller.load_initial_profile()
        except (ApiException, aiohttp.ClientError, OSError) as error:
            log.error("the API server at %s cannot be used: %s", api.configuration.host, error)
            await runner.cleanup()
            return 2
        log.info("serving admission on https://%s:%s; watching the eci-profile", args.host, args.port)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        tasks = [asyncio.create_task(coroutine) for coroutine in controller.watches()]
        await stop.wait()
        log.info("stopping")
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await runner.cleanup()
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_JsonFormatter())
    logging.basicConfig(level=args.log_level.upper(), handlers=[handler])
    return asyncio.run(serve(args))
