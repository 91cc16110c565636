"""Kubernetes API clients for the harness: one per kubeconfig, each request naming who sent it.

Every request carries a user agent (`vnode-conformance/<version> (<who>)`), so the API server's audit
log and a vendor's own logs show which test or harness step made it.
"""

from __future__ import annotations

from pathlib import Path

from kubernetes import client, config

from vnode_harness import __version__

USER_AGENT_PREFIX = f"vnode-conformance/{__version__}"


def api_client(kubeconfig: Path, who: str = "harness") -> client.ApiClient:
    """A fresh ApiClient for `kubeconfig` whose user agent names `who` (a test id or a harness step)."""
    configuration = client.Configuration()
    config.load_kube_config(config_file=str(kubeconfig), client_configuration=configuration)
    api = client.ApiClient(configuration)
    api.user_agent = f"{USER_AGENT_PREFIX} ({who})"
    return api
