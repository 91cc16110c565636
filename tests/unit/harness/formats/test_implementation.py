"""Implementation files: the reference one loads, and every kind of mistake gets a clear message."""

from __future__ import annotations

import pytest

from tests.unit.harness.builders import implementation_data, write_yaml
from vnode_harness.formats.implementation import (
    Implementation,
    Limits,
    Observation,
    PlaceholderValues,
    load_implementation,
)
from vnode_harness.formats.paths import REPO_ROOT
from vnode_harness.formats.yaml_files import ModelFileError

REFERENCE = REPO_ROOT / "implementations" / "reference.yaml"
VALUES = PlaceholderValues(kubeconfig="run/kubeconfig", port=9443, workdir="run/work", python="python3")


def load_error(tmp_path, data) -> str:
    path = write_yaml(tmp_path / "impl.yaml", data)
    with pytest.raises(ModelFileError) as raised:
        load_implementation(path)
    message = str(raised.value)
    assert message.startswith(f"{path}: invalid implementation file")
    return message


@pytest.fixture(scope="module")
def reference() -> Implementation:
    return load_implementation(REFERENCE)


class TestReference:
    def test_declares_everything_but_extended(self, reference):
        assert reference.declared_features == [
            "core-scheduling",
            "selectors-effects",
            "hot-updates",
            "storage",
            "mesh",
        ]
        assert not reference.supports("extended")

    def test_local_command_renders(self, reference):
        rendered = reference.install.local.render(VALUES)
        assert rendered.command == [
            "python3", "-m", "eci_reference", "--kubeconfig", "run/kubeconfig",
            "--listen", "127.0.0.1:9443", "--workdir", "run/work",
        ]  # fmt: skip
        assert rendered.ready_url == "https://127.0.0.1:9443/readyz"

    def test_kind_install(self, reference):
        kind = reference.install.kind
        assert [(i.name, i.dockerfile, i.context) for i in kind.images] == [
            ("eci-reference:dev", "eci_reference/deploy/Dockerfile", ".")
        ]
        assert kind.manifests == ["eci_reference/deploy/manifests/"]
        assert all(reference.install.supports(provider) for provider in ("local", "kind", "existing"))

    def test_observation(self, reference):
        observation = reference.observation
        assert observation.profile_rejection_event.reason == "InvalidProfile"
        assert observation.implementation_pods.namespace == "kube-system"
        assert observation.implementation_pods.label_selector == "app.kubernetes.io/name=eci-reference"
        assert observation.virtual_node_selector == "type=virtual-kubelet"

    def test_limits_are_the_defaults(self, reference):
        assert reference.limits == Limits()


class TestDefaults:
    def test_minimal_file_gets_ack_observation_contract(self, tmp_path):
        implementation = load_implementation(write_yaml(tmp_path / "impl.yaml", implementation_data()))
        assert implementation.observation == Observation()
        assert implementation.observation.storage_class_name == "eci-disk"
        assert implementation.observation.storage_class_zone_parameter == "zoneId"
        assert implementation.observation.implementation_pods is None
        assert implementation.observation.profile_rejection_event is None
        assert implementation.limits.profile_propagation_seconds == 30
        assert implementation.limits.pod_running_seconds == 60
        assert implementation.limits.volume_provisioning_seconds == 60
        assert implementation.limits.webhook_configuration_seconds == 30
        assert implementation.limits.hold_seconds == 10

    def test_without_install_only_existing_clusters(self, tmp_path):
        implementation = load_implementation(write_yaml(tmp_path / "impl.yaml", implementation_data()))
        assert implementation.install.supports("existing")
        assert not implementation.install.supports("local")
        assert not implementation.install.supports("kind")

    def test_vendor_limits_and_selectors(self, tmp_path):
        data = implementation_data(
            limits={"podRunningSeconds": 120, "holdSeconds": 20},
            observation={"virtualNodeSelector": "node.acme.io/kind in (serverless, burst),!legacy"},
        )
        implementation = load_implementation(write_yaml(tmp_path / "impl.yaml", data))
        assert implementation.limits.pod_running_seconds == 120
        assert implementation.limits.hold_seconds == 20
        assert implementation.limits.profile_propagation_seconds == 30

    def test_placeholder_substitution_leaves_json_braces_alone(self, tmp_path):
        data = implementation_data(
            install={
                "local": {
                    "command": ["vk", '--config={"port": {port}}'],
                    "env": {"KUBECONFIG": "{kubeconfig}"},
                }
            }
        )
        local = load_implementation(write_yaml(tmp_path / "impl.yaml", data)).install.local
        assert local is not None
        rendered = local.render(VALUES)
        assert rendered.command == ["vk", '--config={"port": 9443}']
        assert rendered.env == {"KUBECONFIG": "run/kubeconfig"}
        assert rendered.ready_url is None


LOCAL_RUN = {"command": ["run"]}
BAD_FILES = {
    "api-version": (
        {"apiVersion": "conformance.vnode.dev/v1"},
        "apiVersion: Input should be 'conformance.vnode.dev/v1alpha1'",
    ),
    "kind": ({"kind": "Vendor"}, "kind: Input should be 'Implementation'"),
    "unknown-feature": (
        {"features": ["core-scheduling", "gpu"]},
        "features: unknown feature 'gpu'; valid features: "
        "core-scheduling, selectors-effects, hot-updates, storage, mesh, extended",
    ),
    "no-core": ({"features": ["storage"]}, "features: core-scheduling is mandatory"),
    "duplicate-feature": (
        {"features": ["core-scheduling", "core-scheduling"]},
        "features: feature listed more than once",
    ),
    "zero-limit": (
        {"limits": {"podRunningSeconds": 0}},
        "limits.podRunningSeconds: Input should be greater than 0",
    ),
    "huge-limit": (
        {"limits": {"podRunningSeconds": 60000}},
        "limits.podRunningSeconds: Input should be less than or equal",
    ),
    "unknown-limit": ({"limits": {"podRunning": 60}}, "limits.podRunning: unknown field"),
    "zero-hold": (
        {"limits": {"holdSeconds": 0}},
        "limits.holdSeconds: Input should be greater than 0",
    ),
    "empty-selector": (
        {"observation": {"virtualNodeSelector": ""}},
        "observation.virtualNodeSelector: an empty label selector",
    ),
    "bad-selector": (
        {"observation": {"virtualNodeSelector": "type=virtual kubelet"}},
        "observation.virtualNodeSelector: 'type=virtual kubelet' is not a label selector term",
    ),
    "bad-namespace": (
        {"observation": {"profileNamespace": "Kube_System"}},
        "observation.profileNamespace: not a Kubernetes object name",
    ),
    "bad-label-key": (
        {"observation": {"zoneLabel": "zone label"}},
        "observation.zoneLabel: not a Kubernetes label",
    ),
    "pods-without-selector": (
        {"observation": {"implementationPods": {"namespace": "kube-system"}}},
        "observation.implementationPods.labelSelector: required field is missing",
    ),
    "empty-command": (
        {"install": {"local": {"command": []}}},
        "install.local.command: List should have at least 1 item",
    ),
    "unknown-placeholder": (
        {"install": {"local": {"command": ["run", "{prot}"]}}},
        "install.local.command[1]: unknown placeholder {prot}; "
        "valid: {kubeconfig}, {port}, {workdir}, {python}",
    ),
    "ready-url-not-http": (
        {"install": {"local": {**LOCAL_RUN, "readyUrl": "127.0.0.1:{port}/readyz"}}},
        "install.local.readyUrl: must be an http:// or https:// URL",
    ),
    "misspelt-field": (
        {"install": {"local": {**LOCAL_RUN, "readyURL": "http://x"}}},
        "install.local.readyURL: unknown field",
    ),
    "empty-kind": (
        {"install": {"kind": {}}},
        "install.kind: give at least one of images, manifests, helm, command",
    ),
    "image-without-context": (
        {"install": {"kind": {"images": [{"name": "x:dev", "dockerfile": "Dockerfile"}]}}},
        "install.kind.images[0](x:dev).context: required field is missing",
    ),
    "unknown-provider": ({"install": {"cloud": {}}}, "install.cloud: unknown field"),
}


class TestErrors:
    @pytest.mark.parametrize(("change", "expected"), list(BAD_FILES.values()), ids=list(BAD_FILES))
    def test_message_names_field_and_problem(self, tmp_path, change, expected):
        assert expected in load_error(tmp_path, implementation_data(**change))

    @pytest.mark.parametrize(
        ("field", "value", "expected"),
        [
            ("url", "acme.example", "metadata.url: must be an http:// or https:// URL (got 'acme.example')"),
            ("contact", "  ", "metadata.contact: String should have at least 1 character"),
        ],
    )
    def test_metadata(self, tmp_path, field, value, expected):
        data = implementation_data()
        data["metadata"][field] = value
        assert expected in load_error(tmp_path, data)

    def test_every_problem_is_listed(self, tmp_path):
        data = implementation_data(features=["gpu"], limits={"podRunningSeconds": -1})
        del data["metadata"]["contact"]
        message = load_error(tmp_path, data)
        assert "(3 problems)" in message
        assert "metadata.contact: required field is missing" in message

    def test_not_a_mapping(self, tmp_path):
        path = tmp_path / "impl.yaml"
        path.write_text("- core-scheduling\n", encoding="utf-8")
        with pytest.raises(ModelFileError, match="must be a YAML mapping at the top level, not a list"):
            load_implementation(path)

    def test_yaml_syntax_error_names_the_file(self, tmp_path):
        path = tmp_path / "impl.yaml"
        path.write_text("features: [core-scheduling\n", encoding="utf-8")
        with pytest.raises(ModelFileError) as raised:
            load_implementation(path)
        assert str(raised.value).startswith(f"{path}: the implementation file is not valid YAML")

    def test_missing_file(self, tmp_path):
        with pytest.raises(ModelFileError, match="implementation file not found"):
            load_implementation(tmp_path / "absent.yaml")
