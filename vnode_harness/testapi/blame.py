"""Whose fault is an API error: the implementation's own admission webhook, or the suite and cluster?

When the API server refuses a request because the implementation's webhook failed or denied it
("failed calling webhook …: connection refused" while it restarts itself, "admission webhook … denied
the request"), the implementation did not do what the documents say — a pod created as they describe
must be admitted. The test is then reported *failed*, quoting that cause, not *broken*: "broken" stays
for the suite and the environment. Webhooks are the implementation's when they are entries of its
declared MutatingWebhookConfiguration (observation.webhookConfigurationName), read from the cluster
when the error happens; any other webhook (Istio's injector, a cluster policy) is not its fault.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Iterator
from pathlib import Path

from kubernetes import client

from vnode_harness.formats.implementation import Implementation
from vnode_harness.plumbing.kube import api_client


class ImplementationWebhookRefused(AssertionError):
    """The implementation's webhook refused or failed a request a conforming implementation admits."""


_WEBHOOK_IN_MESSAGE = re.compile(r'(?:failed calling webhook|admission webhook) "([^"]+)"')


def _chain(error: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def api_error_text(error: client.ApiException) -> str:
    """The API server's message for a refused request (it names the webhook), else its body."""
    try:
        message = json.loads(error.body or "{}").get("message")
    except (ValueError, AttributeError):
        message = None
    return f"{error.status} {error.reason}: {message or error.body}"


def webhooks_named(error: BaseException) -> list[tuple[str, str]]:
    """(webhook name, API message) for each API error in the exception's chain that names a webhook."""
    found = []
    for link in _chain(error):
        if isinstance(link, client.ApiException):
            text = api_error_text(link)
            found += [(name, text) for name in _WEBHOOK_IN_MESSAGE.findall(text)]
    return found


def blame_implementation(error: BaseException, implementation_webhooks: Collection[str]) -> str | None:
    """The failure reason when one of the implementation's webhooks refused the request, else None."""
    for name, text in webhooks_named(error):
        if name in implementation_webhooks:
            return f"the implementation's admission webhook {name} refused or failed the request: {text}"
    return None


def implementation_webhook_names(kubeconfig: Path, implementation: Implementation) -> set[str]:
    """Entry names of the implementation's declared webhook configuration (empty if it cannot be read)."""
    name = implementation.observation.webhook_configuration_name
    with api_client(kubeconfig, "blame") as api:
        try:
            configuration = client.AdmissionregistrationV1Api(api).read_mutating_webhook_configuration(name)
        except (client.ApiException, OSError):
            return set()
    return {webhook.name for webhook in configuration.webhooks or []}
