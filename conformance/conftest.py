"""Fixtures of the conformance tests: API clients that name the test, fresh namespaces, the eci-profile
editor (the exclusive hold of the profile lock), the shared hold every other test takes, and the
implementation's identity (for "without restarting").

The cluster itself comes from the plugin (vnode_harness.plugin.pytest_plugin): `run_context` and
`implementation` are session fixtures there.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping

import pytest
from kubernetes import client

from vnode_harness.formats.catalogue import Catalogue, load_catalogue
from vnode_harness.formats.implementation import Implementation
from vnode_harness.formats.names import dns_label
from vnode_harness.plumbing.kube import api_client
from vnode_harness.run_context import RunContext
from vnode_harness.testapi.identity import ImplementationIdentity, admission_watch, identity_of
from vnode_harness.testapi.profile import ProfileEditor, baseline_profile_held
from vnode_harness.testapi.rw_lease_lock import ReaderLock, holder_identity
from vnode_harness.testapi.workloads import (
    Namespace,
    create_namespace,
    delete_namespaces,
    record_created_namespace,
)

NamespaceFactory = Callable[..., Namespace]


@pytest.fixture(scope="session")
def catalogue() -> Catalogue:
    return load_catalogue()


@pytest.fixture
def api(run_context: RunContext, request: pytest.FixtureRequest) -> Iterator[client.ApiClient]:
    """An API client whose user agent names this test, so server logs show who sent each request."""
    with api_client(run_context.cluster.kubeconfig, request.node.nodeid) as api:
        yield api


@pytest.fixture
def core(api: client.ApiClient) -> client.CoreV1Api:
    return client.CoreV1Api(api)


@pytest.fixture
def namespaces_created() -> list[Namespace]:
    return []


@pytest.fixture
def namespace_factory(
    core: client.CoreV1Api,
    run_context: RunContext,
    request: pytest.FixtureRequest,
    namespaces_created: list[Namespace],
) -> Iterator[NamespaceFactory]:
    """Creates fresh namespaces for this test (labels optional) and deletes them afterwards, always."""
    prefix = dns_label(f"vnc-{request.node.name}")
    run_id = run_context.run_id

    to_delete: list[str] = []

    def created(name: str) -> None:
        record_created_namespace(run_context.run_dir, name)
        to_delete.append(name)

    def make(labels: Mapping[str, str] | None = None) -> Namespace:
        namespace = create_namespace(core, prefix, run_id, labels, on_created=created)
        namespaces_created.append(namespace)
        return namespace

    yield make
    delete_namespaces(core, to_delete)


@pytest.fixture
def namespace(namespace_factory: NamespaceFactory) -> Namespace:
    """A fresh namespace with no ECI or mesh label."""
    return namespace_factory()


EXCLUSIVE_FIXTURE = "eci_profile"
"""A test that requests this fixture (directly or through another) changes the profile: it holds the
profile lock exclusively and must not also take the shared hold, which it would wait on for ever."""


@pytest.fixture(autouse=True)
def profile_hold(
    request: pytest.FixtureRequest, run_context: RunContext, implementation: Implementation
) -> Iterator[ReaderLock | None]:
    """The shared hold of the eci-profile lock for the whole test (autouse, so it is taken before the
    test's other fixtures and released after them): every test that does not change the profile assumes
    the baseline one, so no profile-changing test may run beside it (vnode_harness.testapi.rw_lease_lock).
    None for a test that changes the profile: it holds the lock exclusively (`eci_profile`)."""
    if EXCLUSIVE_FIXTURE in request.fixturenames:
        yield None
        return
    holder = holder_identity(request.node.nodeid, run_context.run_id)
    with (
        api_client(run_context.cluster.kubeconfig, f"{request.node.nodeid} (profile lock)") as api,
        baseline_profile_held(api, implementation, holder, run_id=run_context.run_id) as lock,
    ):
        yield lock


@pytest.fixture
def eci_profile(
    api: client.ApiClient,
    implementation: Implementation,
    run_context: RunContext,
    request: pytest.FixtureRequest,
) -> Iterator[ProfileEditor]:
    """The only way a test changes the eci-profile: locked, snapshotted and restored byte for byte."""
    editor = ProfileEditor(
        api,
        implementation,
        holder=holder_identity(request.node.nodeid, run_context.run_id),
        known_propagation_failure=run_context.profile_propagation_failure,
        probe_namespace=run_context.probe_namespace,
        run_id=run_context.run_id,
    )
    editor.begin()
    try:
        yield editor
    finally:
        editor.restore()


@pytest.fixture
def implementation_identity(
    api: client.ApiClient, implementation: Implementation, run_context: RunContext
) -> Iterator[Callable[[], ImplementationIdentity]]:
    """Snapshot of who the implementation is now (pod uids + restart counts, or its host process), with
    the admissions its webhook left unanswered since the fixture began (a restart the API shows)."""
    with admission_watch(api, implementation, run_context).running() as watch:

        def snapshot() -> ImplementationIdentity:
            return identity_of(api, implementation, run_context, watch)

        yield snapshot
