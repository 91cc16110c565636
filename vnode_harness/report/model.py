"""The conformance report: what a run certifies, as pydantic models (and so as a JSON schema).

The report is the artefact a vendor publishes, so its shape is versioned (`REPORT_SCHEMA_VERSION`) and
documented for people who never read this code (`docs/conformance-report.md`, generated
`docs/conformance-report.schema.json`). How results are derived is in `vnode_harness.report.rules`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated, Final, Literal

import yaml
from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    NonNegativeFloat,
    NonNegativeInt,
    StringConstraints,
    field_validator,
)

from vnode_harness.formats.catalogue import FeatureId, Severity
from vnode_harness.formats.implementation import ClusterChoice
from vnode_harness.formats.models import CAMEL_CASE_STRICT

REPORT_SCHEMA_VERSION: Final = "v1"
REPORT_API_VERSION: Final = "conformance.vnode.dev/v1"
"""apiVersion of a report; its version part is REPORT_SCHEMA_VERSION (bump both together)."""
REPORT_KIND: Final = "ConformanceReport"

TestOutcome = Literal["passed", "failed", "broken", "skipped"]
"""failed: an assertion about the implementation did not hold; broken: the suite or the cluster erred."""

RequirementResult = Literal["passed", "failed", "broken", "skipped", "not-tested"]
OverallResult = Literal["success", "partial", "failure", "not-tested"]
FeatureResult = Literal["success", "partial", "failure", "not-tested", "not-claimed"]
"""A feature's verdict: `not-claimed` for a feature the implementation does not declare (Gateway API's
"unsupported"), so that `partial` always means a claimed feature that is not fully certified. Reports of
older suites say `partial` for an undeclared feature; they stay readable and verifiable."""
ProfileLockMode = Literal["exclusive", "shared"]
"""How a test held the eci-profile lock: exclusive (it changed the profile, nothing ran beside it),
shared (it assumed the profile as found; only other shared holders ran beside it)."""
RunMode = Literal["full", "focused"]
"""full: the whole suite was selected; focused: a -k/-m/path selection ran only part of it."""
RunnerPlace = Literal["host", "in-cluster"]
"""Where the suite ran: on a host with a kubeconfig, or as a pod inside the cluster under test."""
Sha256Hex = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]


class _ReportModel(BaseModel):
    model_config = ConfigDict(
        **CAMEL_CASE_STRICT,
        field_title_generator=lambda name, _info: name.replace("_", " ").capitalize(),
        json_schema_serialization_defaults_required=True,
    )


class DeclaredLimits(_ReportModel):
    """The wait limits and the hold window the implementation file declared (seconds): part of what was
    certified."""

    profile_propagation_seconds: NonNegativeInt
    pod_running_seconds: NonNegativeInt
    volume_provisioning_seconds: NonNegativeInt
    webhook_configuration_seconds: NonNegativeInt
    hold_seconds: NonNegativeInt = Field(
        description='How long each "stays so" claim was watched after its change was in force.'
    )


class ReportedImplementation(_ReportModel):
    """The implementation under test, copied from its implementation file."""

    organization: str
    project: str
    version: str
    url: str
    contact: str
    declared_features: list[FeatureId] = Field(description="The features the implementation claims.")
    limits: DeclaredLimits
    file_sha256: Sha256Hex | None = Field(
        default=None,
        description="SHA-256 of the implementation file as run (install, observation contract and all); "
        "the bundle's `implementation.yaml` must have it. Null in reports of older suites.",
    )


class OutcomeCounts(_ReportModel):
    """How many tests ended each way."""

    passed: NonNegativeInt = 0
    failed: NonNegativeInt = 0
    broken: NonNegativeInt = 0
    skipped: NonNegativeInt = 0

    @property
    def total(self) -> int:
        return self.passed + self.failed + self.broken + self.skipped


class FeatureSummary(_ReportModel):
    """The verdict on one feature, with the requirements that kept it from `success`."""

    feature: FeatureId
    supported: bool = Field(description="Whether the implementation declares this feature.")
    requires: list[FeatureId] = Field(
        default_factory=list,
        description="Features the suite needs to observe this one (catalogue `requires`); a feature whose "
        "requirement is not declared is not tested.",
    )
    result: FeatureResult
    passed: NonNegativeInt = Field(description="Tests of this feature that passed.")
    skipped: NonNegativeInt
    failed: NonNegativeInt
    broken: NonNegativeInt
    skipped_requirements: list[str] = Field(description="Requirements with a skipped test and none failed.")
    failed_requirements: list[str] = Field(description="Requirements with a failed or broken test.")
    not_tested_requirements: list[str] = Field(description="Requirements no test ran for in this run.")


class RequirementSummary(_ReportModel):
    """The verdict on one catalogue requirement: the worst outcome of the tests that name it."""

    id: str
    feature: FeatureId
    severity: Severity
    result: RequirementResult
    tests: list[str] = Field(description="Node ids of the tests that certify this requirement.")


class RecordedTest(_ReportModel):
    """One test of the run."""

    nodeid: str
    requirements: list[str] = Field(description="The requirement ids the test certifies.")
    outcome: TestOutcome
    duration_seconds: NonNegativeFloat
    reason: str | None = Field(
        default=None, description="First line of the skip reason or of the failure; null when passed."
    )
    profile_lock: ProfileLockMode | None = Field(
        default=None,
        description="Under which eci-profile state the test ran: `exclusive` — it held the profile lock "
        "alone and changed the profile, no other test ran beside it; `shared` — it assumed the profile as "
        "the run found it, and no test that changes the profile ran beside it (in this run or another "
        "against the cluster); null — it took no hold (skipped, or stopped before its hold was taken).",
    )
    shard: str | None = Field(
        default=None,
        description="The shard (one of `shards`) whose cluster the test ran on; null when the run had one "
        "cluster.",
    )


class Shard(_ReportModel):
    """One of the run's clusters when it ran on several at once (`--clusters`): the same provider, the
    same topology and implementation file on each; a test ran on exactly one."""

    name: str
    cluster: str = Field(description="The cluster's name (kind or local) or API server (existing).")
    kubernetes_version: str
    not_started: str | None = Field(
        default=None,
        description="Why this shard did not start while others ran the tests (its workers ran on the "
        "ready shards; no test ran on it); null for a shard that ran tests.",
    )


class RecordedImage(_ReportModel):
    """A container image the cluster ran for the suite (kind provider), as Docker identifies it."""

    name: str
    id: str = Field(description="Docker image ID (sha256) of the image loaded into the cluster.")
    stand_in: str | None = Field(
        default=None, description="What upstream component this image stands in for, and how; null if none."
    )


class NodeFacts(_ReportModel):
    """One node of the cluster as it reported itself: role labels and nodeInfo."""

    name: str
    labels: dict[str, str] = Field(description="Its type, zone, role and instance-type labels.")
    kubelet_version: str
    os_image: str
    kernel_version: str
    container_runtime_version: str
    architecture: str


class HostFacts(_ReportModel):
    """The host the suite ran on: platform and size, not its name (a vendor's host names are theirs)."""

    os: str
    kernel: str
    distribution: str
    architecture: str
    cpus: NonNegativeInt | None
    memory_bytes: NonNegativeInt | None
    python: str


class Fingerprint(_ReportModel):
    """Where the result was measured, beyond the provider's facts: taken while the cluster was up, it is
    what the bundle's `environment.json` is rendered from."""

    nodes: list[NodeFacts] = Field(default_factory=list)
    nodes_unread: str | None = Field(
        default=None, description="Why the nodes could not be read (no cluster, an API error); null if read."
    )
    cgroup_version: Literal["v1", "v2"]
    host: HostFacts
    checkout: str = Field(
        description="The suite checkout's git commit (`+dirty`: local changes), or unknown."
    )
    runner: RunnerPlace = Field(
        default="host",
        description="Where the suite ran: `host` — a machine beside the cluster, with a kubeconfig; "
        "`in-cluster` — a pod of the cluster under test with its service account (`vnode run "
        "--in-cluster`; `host` then describes the pod's container). Reports of older suites: `host`.",
    )


class LeftObject(_ReportModel):
    """An object of the run still in the cluster after the run (vnode_harness.lifecycle.leaks)."""

    kind: str
    name: str
    namespace: str | None = None
    owner: Literal["suite", "cluster"] = Field(
        description="suite: the suite never deleted it (its own bug; the run exits non-zero); cluster: "
        "deleted by the suite but not gone within the settle time (a finalizer, a retained volume)."
    )
    detail: str


class Cleanup(_ReportModel):
    """What the run left in the cluster it certified: the eci-profile as it found it, and no object."""

    profile_restored: bool | None = Field(
        description="Whether the eci-profile (data, labels, annotations) at the end of the run equals what "
        "it was before the first test; null when it could not be read at the end."
    )
    left_behind: list[LeftObject] = Field(
        default_factory=list, description="Objects of the run still present after the settle time."
    )
    settle_seconds: NonNegativeFloat = Field(
        description=(
            "The longest the run waited for deletions in flight before listing what is left (a limit); "
            "0 on a cluster the run deletes, where only objects the suite never deleted are listed."
        )
    )


class LockTakeover(_ReportModel):
    """The eci-profile lock of a holder that died (a killed run, a lost worker), taken over by this run
    once its lease had expired: that holder may have left the profile changed."""

    by: str = Field(description="The test (node id) or run step that took the lease over.")
    detail: str = Field(description="Who held it, when it was last renewed, how long it had expired.")


class RunObservation(_ReportModel):
    """Something the suite shows but does not certify: no requirement, never part of any verdict."""

    id: str
    question: str
    answer: str = Field(description="What was seen, in one word or phrase; `not observed` when not asked.")
    detail: str = Field(description="How it was seen, or why it could not be.")


class GeneratedCases(_ReportModel):
    """The parameters of the generated routing cases (GEN-ROUTING-EFFECTS): with them, the same cases are
    drawn again anywhere (`--gen-seed SEED --gen-cases SCENARIOS`)."""

    seed: int
    scenarios: NonNegativeInt


class ConformanceReport(_ReportModel):
    """The result of one conformance run against one implementation."""

    api_version: Literal["conformance.vnode.dev/v1"] = REPORT_API_VERSION
    kind: Literal["ConformanceReport"] = REPORT_KIND
    suite_version: str
    catalogue_digest: Sha256Hex | None = Field(
        default=None,
        description="SHA-256 of the bytes of conformance/catalogue.yaml the run was measured against; "
        "`vnode report verify` compares it with its own catalogue. Null in reports of older suites.",
    )
    date: AwareDatetime = Field(description="When the run finished, UTC.")
    mode: RunMode
    cluster_provider: ClusterChoice = Field(
        description="The provider of the run's cluster; `auto` only when the run ended before `--cluster "
        "auto` chose one."
    )
    kubernetes_version: str
    implementation: ReportedImplementation
    result: OverallResult = Field(description="The overall verdict; see docs/conformance-report.md.")
    weakened_limits: list[str] = Field(
        default_factory=list,
        description="Declared limits below the catalogue's certification minimums (e.g. a hold window "
        "shorter than `certification.minimumHoldSeconds`): when not empty the run does not certify (its "
        "result is at best partial) and `vnode report verify` refuses it as a submission.",
    )
    aborted: str | None = Field(
        default=None,
        description="Why the run ended before any test ran (e.g. the cluster was not ready); null when the "
        "tests ran.",
    )
    totals: OutcomeCounts
    features: list[FeatureSummary]
    requirements: list[RequirementSummary]
    tests: list[RecordedTest]
    command: str = Field(description="The exact command that reproduces this run.")
    environment: dict[str, str] = Field(
        default_factory=dict,
        description="What the cluster provider reports of the environment (versions, nodes).",
    )
    images: list[RecordedImage] = Field(
        default_factory=list, description="Every image the provider built or loaded for the run (kind)."
    )
    generated_cases: GeneratedCases | None = Field(
        default=None, description="Seed and size of the generated routing cases; null when none were drawn."
    )
    cleanup: Cleanup | None = Field(
        default=None,
        description="What the run left in the cluster (eci-profile restored, objects left behind); null "
        "when the run ended before its tests or the cluster was unreachable at the end.",
    )

    interrupted: str | None = Field(
        default=None,
        description="The signal that interrupted the run (SIGINT, SIGTERM) and when; the report is then "
        "partial: the tests not run are not-tested. Null for a run that ran to its end.",
    )
    lock_taken_over: list[LockTakeover] = Field(
        default_factory=list,
        description="Expired eci-profile locks of holders that died, taken over during this run.",
    )
    observations: list[RunObservation] = Field(
        default_factory=list,
        description="Informative observations (not requirements, not certified, never in the verdict).",
    )
    shards: list[Shard] = Field(
        default_factory=list,
        description="The run's clusters when it ran on several at once; each test names its shard. Empty "
        "when the run had one cluster (`environment` describes the first shard's).",
    )
    fingerprint: Fingerprint | None = Field(
        default=None,
        description="The nodes, the host and the suite checkout the run was measured on (the bundle's "
        "`environment.json`). Null in reports of older suites.",
    )

    @field_validator("date")
    @classmethod
    def _in_utc(cls, date: datetime) -> datetime:
        return date.astimezone(UTC)

    def feature(self, feature_id: str) -> FeatureSummary:
        for summary in self.features:
            if summary.feature == feature_id:
                return summary
        raise KeyError(feature_id)

    def to_json(self) -> str:
        return self.model_dump_json(indent=2) + "\n"

    def to_yaml(self) -> str:
        """`conformance-report.yaml` as the suite writes it; verify compares a bundle's copy with this."""
        return yaml.safe_dump(self.model_dump(mode="json", by_alias=True), sort_keys=False)

    @classmethod
    def from_json(cls, text: str) -> ConformanceReport:
        return cls.model_validate_json(text)


@dataclass(frozen=True)
class RunInfo:
    """Facts about the run that only the pytest plugin knows, recorded in the report as given."""

    suite_version: str
    cluster_provider: ClusterChoice
    kubernetes_version: str
    mode: RunMode
    command: str
    date: datetime = field(default_factory=lambda: datetime.now(UTC))
    """When the run finished; timezone-aware (the report stores it in UTC)."""
    environment: dict[str, str] = field(default_factory=dict)
    images: list[RecordedImage] = field(default_factory=list)
    generated_cases: GeneratedCases | None = None
    catalogue_digest: str | None = None
    aborted: str | None = None
    """Why the run ended before any test ran; None when the tests ran."""
    interrupted: str | None = None
    lock_taken_over: list[LockTakeover] = field(default_factory=list)
    observations: list[RunObservation] = field(default_factory=list)
    cleanup: Cleanup | None = None
    shards: list[Shard] = field(default_factory=list)
    fingerprint: Fingerprint | None = None
    implementation_sha256: str | None = None
    """SHA-256 of the implementation file's bytes as the run read them."""
