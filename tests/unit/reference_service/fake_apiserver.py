"""A small in-memory Kubernetes API server (plain HTTP) for exercising the runtime without a cluster.

It speaks just enough of the REST API for eci_reference and the harness's locks: GET (object, list with
equality label selectors, watch with replay from a resourceVersion), POST, PUT (with resourceVersion
conflicts), merge PATCH and DELETE (with uid and resourceVersion preconditions), for core and grouped
resources, cluster-scoped or namespaced. No admission, no defaulting, no controllers: tests
play the PV controller or the scheduler themselves through ``put``/``delete``. It can be stopped and
started on the same port to play an API server that goes away.
"""

from __future__ import annotations

import asyncio
import builtins
import copy
import itertools
import json
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

CLUSTER_SCOPED = {"namespaces", "nodes", "persistentvolumes", "storageclasses", "csidrivers",
                  "mutatingwebhookconfigurations"}  # fmt: skip


def _status(code: int, reason: str, message: str) -> web.Response:
    body = {"kind": "Status", "apiVersion": "v1", "status": "Failure", "message": message, "reason": reason,
            "code": code}  # fmt: skip
    return web.json_response(body, status=code)


def _merge(target: dict[str, Any], patch: dict[str, Any]) -> None:
    for key, value in patch.items():
        if value is None:
            target.pop(key, None)
        elif isinstance(value, dict) and isinstance(target.get(key), dict):
            _merge(target[key], value)
        else:
            target[key] = copy.deepcopy(value)


class FakeApiServer:
    def __init__(self) -> None:
        self.objects: dict[tuple[str, str, str], dict[str, Any]] = {}
        self.log: list[tuple[int, str, str, dict[str, Any]]] = []  # (rv, type, resource, object)
        self.requests: list[tuple[str, str]] = []
        self._versions = itertools.count(100)
        self._version = 100
        self._watchers: list[tuple[str, str | None, str | None, asyncio.Queue[Any]]] = []
        self._runner: web.AppRunner | None = None
        self.port = 0

    # --- the store (also what tests use to play kubectl and controllers) ------------------------------

    def _bump(self) -> str:
        self._version = next(self._versions)
        return str(self._version)

    def _publish(self, event_type: str, resource: str, obj: dict[str, Any]) -> None:
        version = int(obj["metadata"]["resourceVersion"])
        self.log.append((version, event_type, resource, copy.deepcopy(obj)))
        for watched, namespace, name, queue in self._watchers:
            if self._matches(resource, obj, watched, namespace, name):
                queue.put_nowait({"type": event_type, "object": copy.deepcopy(obj)})

    @staticmethod
    def _matches(
        resource: str, obj: dict[str, Any], watched: str, namespace: str | None, name: str | None
    ) -> bool:
        metadata = obj["metadata"]
        return (
            resource == watched
            and (namespace is None or metadata.get("namespace") == namespace)
            and (name is None or metadata.get("name") == name)
        )

    def get(self, resource: str, name: str, namespace: str = "") -> dict[str, Any] | None:
        found = self.objects.get((resource, namespace, name))
        return copy.deepcopy(found) if found is not None else None

    def existing(self, resource: str, name: str, namespace: str = "") -> dict[str, Any]:
        """`get` of an object the test expects to be there: a clear failure when it is not."""
        found = self.get(resource, name, namespace)
        assert found is not None, f"no {resource} {namespace + '/' if namespace else ''}{name}"
        return found

    # Below this method, `list` in an annotation means it, not the builtin: those say `builtins.list`.
    def list(self, resource: str, namespace: str | None = None) -> list[dict[str, Any]]:
        return [
            copy.deepcopy(obj)
            for (kind, ns, _), obj in sorted(self.objects.items())
            if kind == resource and (namespace is None or ns == namespace)
        ]

    def put(self, resource: str, obj: dict[str, Any]) -> dict[str, Any]:
        """Create or replace (no conflict check), like a controller that always wins."""
        obj = copy.deepcopy(obj)
        metadata = obj.setdefault("metadata", {})
        key = (resource, metadata.get("namespace", ""), metadata["name"])
        existing = self.objects.get(key)
        if existing is None:
            metadata.setdefault("uid", str(uuid.uuid4()))
            metadata.setdefault("creationTimestamp", datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))
        else:
            metadata["uid"] = existing["metadata"]["uid"]
            metadata["creationTimestamp"] = existing["metadata"]["creationTimestamp"]
        metadata["resourceVersion"] = self._bump()
        self.objects[key] = obj
        self._publish("MODIFIED" if existing else "ADDED", resource, obj)
        return copy.deepcopy(obj)

    def delete(self, resource: str, name: str, namespace: str = "") -> dict[str, Any] | None:
        obj = self.objects.pop((resource, namespace, name), None)
        if obj is not None:
            obj["metadata"]["resourceVersion"] = self._bump()
            self._publish("DELETED", resource, obj)
        return obj

    def events_about(self, name: str, reason: str | None = None) -> builtins.list[dict[str, Any]]:
        return [
            event
            for event in self.list("events")
            if event["involvedObject"].get("name") == name and (reason is None or event["reason"] == reason)
        ]

    # --- HTTP ------------------------------------------------------------------------------------

    async def start(self, port: int = 0) -> None:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.1)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", port or self.port)
        await site.start()
        server = site._server
        assert server is not None
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]

    async def stop(self) -> None:
        for _, _, _, queue in self._watchers:
            queue.put_nowait(None)
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def kubeconfig(self) -> str:
        return json.dumps(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "fake", "cluster": {"server": self.url}}],
                "users": [{"name": "fake", "user": {"token": "fake"}}],
                "contexts": [{"name": "fake", "context": {"cluster": "fake", "user": "fake"}}],
                "current-context": "fake",
            }
        )

    @staticmethod
    def _route(parts: builtins.list[str]) -> tuple[str, str | None, str | None]:
        """(resource, namespace or None, name or None) of /api/v1/... or /apis/<group>/<version>/..."""
        rest = parts[2:] if parts[0] == "api" else parts[3:]
        if len(rest) >= 3 and rest[0] == "namespaces":  # /namespaces/<ns>/<resource>[/<name>]
            return rest[2], rest[1], rest[3] if len(rest) > 3 else None
        return rest[0], None, rest[1] if len(rest) > 1 else None

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        parts = [part for part in request.path.split("/") if part]
        self.requests.append((request.method, request.path_qs))
        resource, namespace, name = self._route(parts)
        scope_namespace = "" if resource in CLUSTER_SCOPED else (namespace or "")
        if request.method == "GET" and name is None:
            if request.query.get("watch", "").lower() in ("true", "1"):
                return await self._watch(request, resource, namespace)
            return self._list(request, resource, namespace)
        if request.method == "GET":
            found = self.get(resource, name or "", scope_namespace)
            return (
                web.json_response(found)
                if found
                else _status(404, "NotFound", f"{resource} {name} not found")
            )
        if request.method == "POST":
            body = await request.json()
            body.setdefault("metadata", {})
            if resource not in CLUSTER_SCOPED:
                body["metadata"]["namespace"] = namespace
            key = (resource, scope_namespace, body["metadata"]["name"])
            if key in self.objects:
                return _status(409, "AlreadyExists", f"{resource} {key[2]} already exists")
            return web.json_response(self.put(resource, body), status=201)
        current = self.get(resource, name or "", scope_namespace)
        if current is None:
            return _status(404, "NotFound", f"{resource} {name} not found")
        if request.method == "PUT":
            body = await request.json()
            wanted = body.get("metadata", {}).get("resourceVersion")
            if wanted and wanted != current["metadata"]["resourceVersion"]:
                return _status(409, "Conflict", "the object has been modified")
            return web.json_response(self.put(resource, body))
        if request.method == "PATCH":
            _merge(current, await request.json())
            return web.json_response(self.put(resource, current))
        if request.method == "DELETE":
            conflict = self._failed_precondition(await request.read(), current)
            if conflict:
                return _status(409, "Conflict", conflict)
            return web.json_response(self.delete(resource, name or "", scope_namespace))
        return _status(405, "MethodNotAllowed", request.method)

    @staticmethod
    def _failed_precondition(body: bytes, current: dict[str, Any]) -> str:
        """Why a DELETE's preconditions (uid, resourceVersion) do not hold, "" when they do (or are none)."""
        preconditions = (json.loads(body) if body.strip() else {}).get("preconditions") or {}
        for key in ("uid", "resourceVersion"):
            wanted = preconditions.get(key)
            if wanted and wanted != current["metadata"].get(key):
                return f"Precondition failed: {key} in precondition: {wanted}, {key} in object meta: " + str(
                    current["metadata"].get(key)
                )
        return ""

    @staticmethod
    def _labels_match(obj: dict[str, Any], selector: str) -> bool:
        """Equality-based label selectors only (`a=b,c`): what the harness lists by."""
        labels = obj["metadata"].get("labels") or {}
        for term in filter(None, selector.split(",")):
            key, equals, value = term.partition("=")
            if (key not in labels) if not equals else (labels.get(key) != value.lstrip("=")):
                return False
        return True

    def _selected(
        self, request: web.Request, resource: str, namespace: str | None
    ) -> tuple[str | None, builtins.list[Any]]:
        field_selector = request.query.get("fieldSelector", "")
        label_selector = request.query.get("labelSelector", "")
        name = (
            field_selector.removeprefix("metadata.name=")
            if field_selector.startswith("metadata.name=")
            else None
        )
        items = [
            obj
            for obj in self.list(resource, namespace)
            if (name is None or obj["metadata"]["name"] == name) and self._labels_match(obj, label_selector)
        ]
        return name, items

    def _list(self, request: web.Request, resource: str, namespace: str | None) -> web.Response:
        _, items = self._selected(request, resource, namespace)
        return web.json_response(
            {"kind": "List", "metadata": {"resourceVersion": str(self._version)}, "items": items}
        )

    async def _watch(self, request: web.Request, resource: str, namespace: str | None) -> web.StreamResponse:
        name, _ = self._selected(request, resource, namespace)
        since = int(request.query.get("resourceVersion") or self._version)
        timeout = float(request.query.get("timeoutSeconds") or 300)
        queue: asyncio.Queue[Any] = asyncio.Queue()
        for version, event_type, kind, obj in self.log:
            if version > since and self._matches(kind, obj, resource, namespace, name):
                queue.put_nowait({"type": event_type, "object": obj})
        watcher = (resource, namespace, name, queue)
        self._watchers.append(watcher)
        response = web.StreamResponse()
        response.content_type = "application/json"
        await response.prepare(request)
        try:
            async with asyncio.timeout(timeout):
                while (event := await queue.get()) is not None:
                    await response.write(json.dumps(event).encode() + b"\n")
        except TimeoutError:
            pass
        finally:
            self._watchers.remove(watcher)
        return response


def seed(server: FakeApiServer, objects: Iterable[tuple[str, dict[str, Any]]]) -> None:
    for resource, obj in objects:
        server.put(resource, obj)
