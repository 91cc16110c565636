"""The implementation file: what is under test, how to install it, and how the suite observes it.

A vendor certifies a product by writing one YAML file (`kind: Implementation`, see
`implementations/README.md`). It says who the product is (copied into the report), which features it
claims, how each cluster provider installs it, the observation contract (the names the suite reads
through the Kubernetes API, defaulting to ACK's), and the longest each kind of wait may take.
Validation is strict (unknown keys are errors) because a typo in a hand-written file must not silently
fall back to a default and certify something else than the vendor meant.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal, TypeGuard, get_args
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from vnode_harness.formats.catalogue import FEATURE_IDS, MANDATORY_FEATURES, FeatureId
from vnode_harness.formats.models import CamelModel
from vnode_harness.formats.yaml_files import load_model_file, short_repr

API_VERSION = "conformance.vnode.dev/v1alpha1"
KIND = "Implementation"

ProviderName = Literal["local", "kind", "existing"]
PROVIDER_NAMES: tuple[ProviderName, ...] = get_args(ProviderName)
"""The cluster providers, in one place: `--cluster` also accepts `auto`, which picks one of these."""


ClusterChoice = Literal["local", "kind", "existing", "auto"]
"""What `--cluster` takes; a report says `auto` only when the run ended before `auto` chose a provider."""
CLUSTER_CHOICES: tuple[ClusterChoice, ...] = get_args(ClusterChoice)


def is_provider_name(name: str) -> TypeGuard[ProviderName]:
    """Whether `name` is a cluster provider (and not `auto` or a typo)."""
    return name in PROVIDER_NAMES


def is_cluster_choice(name: str) -> TypeGuard[ClusterChoice]:
    """Whether `name` is a value `--cluster` takes."""
    return name in CLUSTER_CHOICES


PLACEHOLDERS = ("kubeconfig", "port", "workdir", "python")
"""What `{name}` may appear in install commands, readyUrl and env values; the harness fills them in."""

_PLACEHOLDER_PATTERN = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
_MAX_LIMIT_SECONDS = 3600

_LABEL_NAME = r"[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?"
_LABEL_KEY = rf"([a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?{_LABEL_NAME}"
_LABEL_VALUE = rf"({_LABEL_NAME})?"
_SELECTOR_TERM = re.compile(
    rf"^\s*(!?{_LABEL_KEY}"
    rf"|{_LABEL_KEY}\s*(=|==|!=)\s*{_LABEL_VALUE}"
    rf"|{_LABEL_KEY}\s+(in|notin)\s+\(\s*{_LABEL_VALUE}(\s*,\s*{_LABEL_VALUE})*\s*\))\s*$"
)


def _label_selector(text: str) -> str:
    """Check the Kubernetes label selector syntax (`a=b,c!=d,e in (f,g),!h`) before a cluster sees it."""
    if not text.strip():
        raise ValueError("an empty label selector would select everything; give at least one term")
    for term in _split_selector_terms(text):
        if not _SELECTOR_TERM.match(term):
            raise ValueError(
                f"{short_repr(term.strip())} is not a label selector term (key, !key, key=value, ...)"
            )
    return text


def _split_selector_terms(text: str) -> list[str]:
    terms: list[str] = []
    depth = 0
    current = ""
    for character in text:
        if character == "," and depth == 0:
            terms.append(current)
            current = ""
            continue
        depth += {"(": 1, ")": -1}.get(character, 0)
        current += character
    terms.append(current)
    return terms


def _label_key(text: str) -> str:
    if not re.fullmatch(_LABEL_KEY, text):
        raise ValueError("not a Kubernetes label or annotation key ([prefix/]name)")
    return text


def _dns_name(text: str) -> str:
    if not re.fullmatch(r"[a-z0-9]([-a-z0-9.]*[a-z0-9])?", text):
        raise ValueError("not a Kubernetes object name (lower case letters, digits, '-' and '.')")
    return text


def _http_url(text: str) -> str:
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError("must be an http:// or https:// URL")
    return text


def _known_placeholders(text: str) -> str:
    unknown = sorted({name for name in _PLACEHOLDER_PATTERN.findall(text) if name not in PLACEHOLDERS})
    if unknown:
        valid = ", ".join(f"{{{name}}}" for name in PLACEHOLDERS)
        named = ", ".join(f"{{{name}}}" if len(name) <= 60 else f"{{{name[:57]}...}}" for name in unknown)
        raise ValueError(f"unknown placeholder {named}; valid: {valid}")
    return text


NonEmptyText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
LabelSelector = Annotated[str, AfterValidator(_label_selector)]
LabelKey = Annotated[str, AfterValidator(_label_key)]
ObjectName = Annotated[str, AfterValidator(_dns_name)]
HttpUrl = Annotated[str, AfterValidator(_http_url)]
Template = Annotated[str, AfterValidator(_known_placeholders)]
LimitSeconds = Annotated[int, Field(gt=0, le=_MAX_LIMIT_SECONDS)]
"""A wait limit. Over an hour is almost certainly a unit mistake (milliseconds), so it is refused."""


class _ImplementationModel(CamelModel):
    """Base of the implementation file's models."""


class Metadata(_ImplementationModel):
    """Who and what is certified; copied verbatim into the conformance report."""

    organization: NonEmptyText
    project: NonEmptyText
    version: NonEmptyText
    url: HttpUrl
    contact: NonEmptyText


@dataclass(frozen=True)
class PlaceholderValues:
    """The values the harness substitutes for `{kubeconfig}`, `{port}`, `{workdir}` and `{python}`."""

    kubeconfig: str
    port: int
    workdir: str
    python: str

    def substitute(self, template: str) -> str:
        """Replace the known placeholders only, so braces in JSON arguments pass through untouched."""
        values = {"kubeconfig": self.kubeconfig, "port": str(self.port), "workdir": self.workdir}
        values["python"] = self.python

        def replace(match: re.Match[str]) -> str:
            return values.get(match.group(1), match.group(0))

        return _PLACEHOLDER_PATTERN.sub(replace, template)


_SAMPLE_PLACEHOLDERS = PlaceholderValues(
    kubeconfig="kubeconfig", port=8443, workdir="workdir", python="python"
)
"""Stand-in values to check that a templated readyUrl is still a URL once filled in."""


@dataclass(frozen=True)
class LocalCommand:
    """A local install with its placeholders filled in, ready to start as a host process."""

    command: list[str]
    ready_url: str | None
    env: dict[str, str]


class LocalInstall(_ImplementationModel):
    """Start the implementation as a host process next to the local cluster (the harness tracks its pid)."""

    command: Annotated[list[Template], Field(min_length=1)]
    ready_url: Template | None = None
    env: dict[str, Template] = Field(default_factory=dict)

    @field_validator("ready_url")
    @classmethod
    def _ready_url_is_http(cls, ready_url: str | None) -> str | None:
        if ready_url is not None:
            _http_url(_SAMPLE_PLACEHOLDERS.substitute(ready_url))
        return ready_url

    def render(self, values: PlaceholderValues) -> LocalCommand:
        return LocalCommand(
            command=[values.substitute(argument) for argument in self.command],
            ready_url=values.substitute(self.ready_url) if self.ready_url is not None else None,
            env={name: values.substitute(value) for name, value in self.env.items()},
        )


class KindImage(_ImplementationModel):
    """An image the harness builds and loads into the kind nodes (no registry is involved)."""

    name: NonEmptyText
    dockerfile: NonEmptyText
    context: NonEmptyText


class HelmRelease(_ImplementationModel):
    chart: NonEmptyText
    release: NonEmptyText
    namespace: ObjectName
    values: dict[str, Any] = Field(default_factory=dict)


class KindInstall(_ImplementationModel):
    """Install into a kind cluster: build and load images, apply manifests, install a chart, run a command.

    Steps run in that order; each is optional but at least one must be given. Relative paths are
    relative to the root of the suite checkout the harness runs from.
    """

    images: list[KindImage] = Field(default_factory=list)
    manifests: list[NonEmptyText] = Field(default_factory=list)
    helm: HelmRelease | None = None
    command: Annotated[list[Template], Field(min_length=1)] | None = None

    @model_validator(mode="after")
    def _does_something(self) -> KindInstall:
        if not (self.images or self.manifests or self.helm or self.command):
            raise ValueError("give at least one of images, manifests, helm, command")
        return self


class ExistingInstall(_ImplementationModel):
    """Nothing to do: on an existing cluster the vendor has installed the implementation already."""


class Install(_ImplementationModel):
    """How each cluster provider installs the implementation; a provider left out cannot be used."""

    local: LocalInstall | None = None
    kind: KindInstall | None = None
    existing: ExistingInstall | None = None

    def supports(self, provider: ProviderName) -> bool:
        """Whether the provider can run this implementation (`existing` always can: nothing to install)."""
        return provider == "existing" or getattr(self, provider) is not None


class ImplementationPods(_ImplementationModel):
    """Where the implementation's own pods are, to check "not restarted" (same uids, same restartCount)."""

    namespace: ObjectName
    label_selector: LabelSelector


class ProfileRejectionEvent(_ImplementationModel):
    """The Event an implementation posts on the profile ConfigMap when it rejects a profile.

    Declaring it lets the suite wait for the Event instead of waiting out the whole propagation limit
    to conclude that a bad profile changed nothing.
    """

    reason: NonEmptyText = "InvalidProfile"


class Observation(_ImplementationModel):
    """The observation contract: the names the suite reads through the Kubernetes API (ACK defaults)."""

    virtual_node_selector: LabelSelector = "type=virtual-kubelet"
    virtual_node_taint_key: LabelKey = "virtual-kubelet.io/provider"
    zone_label: LabelKey = "topology.kubernetes.io/zone"
    region_label: LabelKey = "topology.kubernetes.io/region"
    vswitch_annotation: LabelKey = "k8s.aliyun.com/eci-vswitch"
    security_group_annotation: LabelKey = "k8s.aliyun.com/eci-security-group"
    profile_namespace: ObjectName = "kube-system"
    profile_name: ObjectName = "eci-profile"
    webhook_configuration_name: ObjectName = "vk-webhook"
    storage_class_name: ObjectName = "eci-disk"
    storage_class_zone_parameter: NonEmptyText = "zoneId"
    implementation_pods: ImplementationPods | None = None
    profile_rejection_event: ProfileRejectionEvent | None = None


class Limits(_ImplementationModel):
    """The longest a conformant implementation may take, per kind of wait, and the hold window, in seconds.

    A wait that runs out is a non-conformance, so these are part of what is certified: the vendor may
    declare its own, and the report records them next to the result.

    `hold_seconds` is the other direction: how long every "stays so" claim (a pod created before a
    change stays as it was, an unconsumed claim stays Pending, an invalid selector stays out of the
    webhook configuration) is watched after the change is in force. A shorter window certifies less,
    which is why it is published in the report like the waits.
    """

    profile_propagation_seconds: LimitSeconds = 30
    pod_running_seconds: LimitSeconds = 60
    volume_provisioning_seconds: LimitSeconds = 60
    webhook_configuration_seconds: LimitSeconds = 30
    hold_seconds: LimitSeconds = 10


class Implementation(_ImplementationModel):
    """A whole implementation file."""

    api_version: Literal["conformance.vnode.dev/v1alpha1"]
    kind: Literal["Implementation"]
    metadata: Metadata
    features: list[str]
    install: Install = Field(default_factory=Install)
    observation: Observation = Field(default_factory=Observation)
    limits: Limits = Field(default_factory=Limits)

    @field_validator("features")
    @classmethod
    def _known_features(cls, features: list[str]) -> list[str]:
        unknown = [feature for feature in features if feature not in FEATURE_IDS]
        if unknown:
            named = ", ".join(short_repr(feature) for feature in unknown)
            raise ValueError(f"unknown feature {named}; valid features: {', '.join(FEATURE_IDS)}")
        duplicates = sorted({feature for feature in features if features.count(feature) > 1})
        if duplicates:
            raise ValueError(f"feature listed more than once: {', '.join(duplicates)}")
        missing = sorted(MANDATORY_FEATURES.difference(features))
        if missing:
            raise ValueError(f"{', '.join(missing)} is mandatory: every implementation must declare it")
        return features

    @property
    def declared_features(self) -> list[FeatureId]:
        """The declared features, in the catalogue's order."""
        return [feature for feature in FEATURE_IDS if feature in self.features]

    def supports(self, feature: str) -> bool:
        return feature in self.features


def load_implementation(path: Path) -> Implementation:
    """Load and validate an implementation file; `ModelFileError` names the file and every bad field."""
    return load_model_file(path, Implementation, "implementation file")
