"""The ``vk-webhook`` admission HTTP handler: AdmissionReview in, JSON Patch out (aiohttp).

Routes: ``POST /mutate`` (admission.k8s.io/v1 AdmissionReview, pods at CREATE), ``GET /healthz``
(the process serves), ``GET /readyz`` (a profile is active). TLS, the listening socket and the
access log belong to whoever runs the application (``eci_reference.__main__``).

How requests are answered, and why:

- a body that is not an AdmissionReview we can answer (not JSON, wrong ``apiVersion``/``kind``, no
  ``request.uid``) gets HTTP 400 with a JSON ``{"error": ...}`` body: there is no uid to answer to;
  a body over ``MAX_BODY_BYTES`` (the API server's own request limit) gets 413;
- anything but a Pod CREATE is allowed unchanged (the webhook only registers for those anyway);
- a Pod CREATE is allowed, with a base64 ``JSONPatch`` when there is something to add;
- when we cannot decide safely we deny in the AdmissionReview (``allowed: false`` with a status code
  and message the user sees), the same outcome ``failurePolicy: Fail`` gives, but with a reason:
  400 for a pod that is not shaped like a Pod, 503 (retryable) when no profile is active yet or the
  namespace lookup fails or times out;
- a namespace that does not exist is not an error (no namespace labels, plus a warning).

Every pod decision is logged as one JSON line on the ``eci_reference.admission`` logger.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import time
from collections.abc import Mapping
from typing import Any, Final, Protocol

from aiohttp import web

from eci_reference.constants import (
    ADMISSION_API_VERSION,
    ADMISSION_KIND,
    HEALTHZ_PATH,
    MUTATE_PATH,
    READYZ_PATH,
)
from eci_reference.mutation import MalformedPodError, PodPatch, plan_pod_patch
from eci_reference.profile import Profile
from eci_reference.text import shorten

#: The API server's own limit on a request body (3 MiB); a review can hardly be larger.
MAX_BODY_BYTES: Final = 3 * 1024 * 1024
#: Leaves room for an answer within the webhook's ``timeoutSeconds: 5``.
DEFAULT_NAMESPACE_LOOKUP_TIMEOUT_SECONDS: Final = 2.0


logger = logging.getLogger("eci_reference.admission")

_NO_LABELS: Final[Mapping[str, str]] = {}
_JSON_SEPARATORS: Final = (",", ":")
_SHOWN_VALUE_CHARS: Final = 80


class AdmissionContext(Protocol):
    """What the handler needs from the controller: the active profile and namespace labels."""

    def active_profile(self) -> Profile | None:
        """The profile in force; ``None`` while none has been loaded yet (not ready)."""
        ...

    async def namespace_labels(self, name: str) -> Mapping[str, str] | None:
        """Labels of namespace ``name``; ``None`` when it does not exist. May raise on API errors."""
        ...


class _BadReview(Exception):
    """The body is not an AdmissionReview we can answer: HTTP 400."""


def build_admission_app(
    source: AdmissionContext,
    *,
    namespace_lookup_timeout: float = DEFAULT_NAMESPACE_LOOKUP_TIMEOUT_SECONDS,
    max_body_bytes: int = MAX_BODY_BYTES,
) -> web.Application:
    """The aiohttp application serving ``/mutate``, ``/healthz`` and ``/readyz`` for ``source``."""
    handler = _AdmissionHandler(source, namespace_lookup_timeout, max_body_bytes)
    # aiohttp refuses bodies of client_max_size bytes or more; we answer that with our own 413.
    app = web.Application(client_max_size=max_body_bytes + 1)
    app.router.add_post(MUTATE_PATH, handler.mutate)
    app.router.add_get(HEALTHZ_PATH, handler.healthz)
    app.router.add_get(READYZ_PATH, handler.readyz)
    return app


class _AdmissionHandler:
    def __init__(
        self, source: AdmissionContext, namespace_lookup_timeout: float, max_body_bytes: int
    ) -> None:
        self._source = source
        self._namespace_lookup_timeout = namespace_lookup_timeout
        self._max_body_bytes = max_body_bytes

    async def healthz(self, _request: web.Request) -> web.Response:
        return web.Response(text="ok")

    async def readyz(self, _request: web.Request) -> web.Response:
        try:
            ready = self._source.active_profile() is not None
        except Exception:
            logger.exception("readiness check failed")
            ready = False
        if ready:
            return web.Response(text="ok")
        return web.Response(status=503, text="no eci-profile is active yet")

    async def mutate(self, request: web.Request) -> web.Response:
        started = time.perf_counter()
        if request.content_length is not None and request.content_length > self._max_body_bytes:
            return self._too_large()
        try:
            body = await request.read()
        except web.HTTPRequestEntityTooLarge:
            return self._too_large()
        try:
            admission_request = _parse_review(body)
        except _BadReview as error:
            return _error(400, str(error))
        response = await self._review(admission_request, started)
        payload = {"apiVersion": ADMISSION_API_VERSION, "kind": ADMISSION_KIND, "response": response}
        return web.Response(
            text=json.dumps(payload, separators=_JSON_SEPARATORS), content_type="application/json"
        )

    def _too_large(self) -> web.Response:
        return _error(413, f"request body exceeds {self._max_body_bytes} bytes")

    async def _review(self, admission_request: Mapping[str, Any], started: float) -> dict[str, Any]:
        uid: str = admission_request["uid"]
        if not _is_pod_create(admission_request):
            return {"uid": uid, "allowed": True}

        pod = admission_request.get("object")
        metadata = pod.get("metadata") if isinstance(pod, Mapping) else None
        log_fields = _pod_identity(admission_request, metadata)
        log_fields["uid"] = uid
        if not isinstance(pod, Mapping):
            return _deny(uid, 400, "malformed pod: request.object is not a JSON object", log_fields, started)
        try:
            profile = self._source.active_profile()
        except Exception:
            logger.exception("reading the active profile failed")
            profile = None
        if profile is None:
            return _deny(uid, 503, "no eci-profile is active yet; retry shortly", log_fields, started)

        warnings: list[str] = []
        namespace = log_fields["namespace"]
        namespace_labels: Mapping[str, str] = _NO_LABELS
        if not namespace:
            warnings.append("pod has no namespace; namespace labels were not considered")
        else:
            try:
                async with asyncio.timeout(self._namespace_lookup_timeout):
                    found = await self._source.namespace_labels(namespace)
            except Exception as error:  # timeouts and API errors alike: we cannot decide safely
                logger.warning("namespace %r lookup failed: %r", namespace, error)
                message = f"looking up namespace {namespace!r} failed; retry shortly"
                return _deny(uid, 503, message, log_fields, started)
            if found is None:
                warnings.append(f"namespace {namespace!r} not found; namespace labels were not considered")
            else:
                namespace_labels = found

        try:
            patch = plan_pod_patch(pod, namespace_labels, profile)
        except MalformedPodError as error:
            return _deny(uid, 400, f"malformed pod: {error}", log_fields, started)
        warnings.extend(patch.warnings)
        _log_decision(log_fields, patch, warnings, started)

        response: dict[str, Any] = {"uid": uid, "allowed": True}
        if patch.ops:
            encoded = json.dumps(patch.ops, separators=_JSON_SEPARATORS).encode()
            response["patchType"] = "JSONPatch"
            response["patch"] = base64.b64encode(encoded).decode("ascii")
        if warnings:
            response["warnings"] = warnings
        return response


def _parse_review(body: bytes) -> Mapping[str, Any]:
    """The ``request`` of an admission.k8s.io/v1 AdmissionReview, or ``_BadReview``."""
    try:
        review = json.loads(body)
    except RecursionError:
        raise _BadReview("body is not valid JSON: nested too deeply") from None
    except ValueError as error:
        raise _BadReview(f"body is not valid JSON: {shorten(error, _SHOWN_VALUE_CHARS)}") from None
    if not isinstance(review, dict):
        raise _BadReview("body is not a JSON object")
    if review.get("apiVersion") != ADMISSION_API_VERSION:
        raise _BadReview(
            f"apiVersion must be {ADMISSION_API_VERSION}, "
            f"got {shorten(review.get('apiVersion'), _SHOWN_VALUE_CHARS)}"
        )
    if review.get("kind") != ADMISSION_KIND:
        shown_kind = shorten(review.get("kind"), _SHOWN_VALUE_CHARS)
        raise _BadReview(f"kind must be {ADMISSION_KIND}, got {shown_kind}")
    admission_request = review.get("request")
    if not isinstance(admission_request, dict):
        raise _BadReview("request is missing")
    uid = admission_request.get("uid")
    if not isinstance(uid, str) or not uid:
        raise _BadReview("request.uid is missing")
    return admission_request


def _is_pod_create(admission_request: Mapping[str, Any]) -> bool:
    kind = admission_request.get("kind")
    return (
        admission_request.get("operation") == "CREATE"
        and isinstance(kind, Mapping)
        and kind.get("kind") == "Pod"
        and kind.get("group", "") == ""
        and not admission_request.get("subResource")
    )


def _pod_identity(admission_request: Mapping[str, Any], metadata: object) -> dict[str, Any]:
    """Namespace and name (or generateName) for logs and lookups; non-strings are ignored."""
    fields = metadata if isinstance(metadata, Mapping) else {}
    namespace = admission_request.get("namespace") or fields.get("namespace")
    name = fields.get("name") or admission_request.get("name")
    generate_name = fields.get("generateName")
    return {
        "namespace": namespace if isinstance(namespace, str) else "",
        "name": name if isinstance(name, str) else "",
        "generateName": generate_name if isinstance(generate_name, str) else "",
    }


def _log_decision(fields: dict[str, Any], patch: PodPatch, warnings: list[str], started: float) -> None:
    if not logger.isEnabledFor(logging.INFO):
        return
    fields["eci"] = patch.routing.is_eci
    fields["reasons"] = list(patch.routing.reasons)
    fields["selectors"] = [selector.name for selector in patch.routing.matched_selectors]
    fields["effects"] = [selector.name for selector in patch.effect_selectors]
    fields["ops"] = len(patch.ops)
    fields["warnings"] = warnings
    fields["ms"] = round((time.perf_counter() - started) * 1000, 3)
    logger.info("%s", json.dumps(fields, separators=_JSON_SEPARATORS))


def _deny(uid: str, code: int, message: str, fields: dict[str, Any], started: float) -> dict[str, Any]:
    fields["denied"] = message
    fields["ms"] = round((time.perf_counter() - started) * 1000, 3)
    logger.warning("%s", json.dumps(fields, separators=_JSON_SEPARATORS))
    return {"uid": uid, "allowed": False, "status": {"code": code, "message": message}}


def _error(status: int, message: str) -> web.Response:
    return web.Response(status=status, text=json.dumps({"error": message}), content_type="application/json")
