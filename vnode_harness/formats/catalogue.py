"""The requirement catalogue (`conformance/catalogue.yaml`): models, loading, and the coverage check.

The catalogue is the single source of truth for what the suite certifies. Tests name the requirements
they certify with `@pytest.mark.requirement("ID", ...)`; `check_coverage` compares those markers with the
catalogue so that no requirement goes untested and no test certifies nothing (or something unknown).
Its `scope` names what the suite does not certify: statements of the documents scoped out (with their
quote and reason) and cases the documents leave open; `check_quotes` checks those quotes too.
"""

from __future__ import annotations

import difflib
import hashlib
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Annotated, Literal, get_args

from pydantic import (
    Field,
    PrivateAttr,
    StringConstraints,
    field_validator,
    model_validator,
)

from vnode_harness.formats.models import CamelModel
from vnode_harness.formats.paths import CATALOGUE_PATH
from vnode_harness.formats.yaml_files import load_model_file

FeatureId = Literal["core-scheduling", "selectors-effects", "hot-updates", "storage", "mesh", "extended"]
"""The features an implementation can declare. Closed set: the report schema enumerates them."""

FEATURE_IDS: tuple[FeatureId, ...] = get_args(FeatureId)
MANDATORY_FEATURES: frozenset[FeatureId] = frozenset({"core-scheduling"})

Severity = Literal["blocker", "critical", "normal", "minor"]
"""Allure severities, so a requirement's severity can label its tests in the allure report."""

SeedDocument = Literal["000_79a2fc8511f6d768", "002_defe58e5e33e4986"]
"""The documents the requirements are read from (000: ASM + ECI virtual nodes; 002: the eci-profile)."""
DOCUMENT_TITLES: dict[str, str] = {
    "000_79a2fc8511f6d768": "Alibaba Cloud Service Mesh: Manage ECI-based pods on ACK virtual nodes with ASM",
    "002_defe58e5e33e4986": "ack-virtual-node: Configure an ECI profile",
}
"""A reader's name for each seed document (conformance/sources/README.md), for the catalogue browser
and the Allure descriptions."""

ScopeReason = Literal["not-observable", "not-a-virtual-node-behavior", "documents-silent"]
"""Why a statement of the documents is not certified: nothing in the Kubernetes API shows it; it is the
behavior of another product, the cluster or its operator; or the documents name it without saying what
must be true."""
SCOPE_REASON_TEXT: dict[str, str] = {
    "not-observable": "not observable through the Kubernetes API",
    "not-a-virtual-node-behavior": "not a virtual-node behavior",
    "documents-silent": "the documents do not say what must be true",
}
"""Each reason as a report and `vnode catalogue show` word it."""

DEFAULT_CATALOGUE_PATH = CATALOGUE_PATH
"""The catalogue of the checkout this harness runs from (the suite always runs from a checkout)."""
SOURCES_DIR = DEFAULT_CATALOGUE_PATH.parent / "sources"
"""The source documents, `<seed id>.txt`, copied byte for byte (conformance/sources/README.md)."""
INTRODUCTION = "(introduction)"
"""The section name of text before a document's first heading."""

REQUIREMENT_ID_PATTERN = r"^[A-Z][A-Z0-9]*(-[A-Z0-9]+)+$"
MAX_QUOTE_LENGTH = 300

NonEmptyText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
CatalogueId = Annotated[str, StringConstraints(pattern=REQUIREMENT_ID_PATTERN)]


class UnknownIdError(KeyError):
    """An unknown requirement or feature id. A KeyError whose message reads as a sentence, not a repr."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class _CatalogueModel(CamelModel):
    """Base of the catalogue's models."""


class Feature(_CatalogueModel):
    """A group of requirements an implementation declares as a whole (e.g. `storage`)."""

    id: FeatureId
    title: NonEmptyText
    description: NonEmptyText
    optional: bool
    requires: list[FeatureId] = Field(default_factory=list)
    """Features the suite needs to observe this one: the profile editor learns that a profile change is
    in force from a selector's effect, so every feature whose tests change the profile needs
    `selectors-effects`. Declared here, stated in the report, and checked before the tests run."""


class Source(_CatalogueModel):
    """Where the documentation states a requirement. `check_quotes` checks the quote against the copy
    of the document in conformance/sources/, so a requirement cannot claim words the document lacks."""

    document: SeedDocument
    section: NonEmptyText
    quote: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_QUOTE_LENGTH)]


class Requirement(_CatalogueModel):
    """One documented, observable rule; certified by the tests that name its id."""

    id: CatalogueId
    statement: NonEmptyText
    source: Source
    feature: FeatureId
    severity: Severity

    @field_validator("statement")
    @classmethod
    def _states_a_must(cls, statement: str) -> str:
        if not re.search(r"\bMUST\b", statement):
            raise ValueError("a statement must state the rule with MUST or MUST NOT")
        return statement


class ScopedOut(_CatalogueModel):
    """A statement of the documents that the suite does not certify, with why: so that a reader of the
    catalogue can tell "not certified on purpose" from "overlooked"."""

    id: CatalogueId
    source: Source
    reason: ScopeReason
    explanation: NonEmptyText
    related: list[str] = Field(default_factory=list)
    """Requirements that certify the observable part of the statement, if any."""


class OpenCase(_CatalogueModel):
    """A case the documents leave open: the suite certifies no outcome for it, and a report says nothing
    about it. `source` is the nearest text, when there is one."""

    id: CatalogueId
    case: NonEmptyText
    explanation: NonEmptyText
    source: Source | None = None
    related: list[str] = Field(default_factory=list)
    """The requirements that border on the case."""


class Scope(_CatalogueModel):
    """What the suite does not certify: statements scoped out, and cases the documents leave open."""

    out_of_scope: list[ScopedOut] = Field(default_factory=list)
    unspecified: list[OpenCase] = Field(default_factory=list)


class Certification(_CatalogueModel):
    """What a certifying run needs beyond passing tests: the shortest window its "stays so" claims may
    be watched for. A vendor may declare a longer one (`limits.holdSeconds`), never a shorter: a wrong
    implementation that changes a pod 3 s after the change would pass a 1 s window. The declared waits
    (`profilePropagationSeconds`, …) need no minimum: a shorter one only makes a wait stricter, and the
    hold after an invalid profile is the propagation limit plus the hold window, so the minimum bounds it."""

    minimum_hold_seconds: Annotated[int, Field(gt=0)] = 10


class Catalogue(_CatalogueModel):
    """The whole catalogue, validated for internal consistency (unique ids, known features)."""

    schema_version: Literal[1]
    certification: Certification = Field(default_factory=Certification)
    features: list[Feature]
    requirements: list[Requirement]
    scope: Scope = Field(default_factory=Scope)

    _by_id: dict[str, Requirement] = PrivateAttr(default_factory=dict)

    @model_validator(mode="after")
    def _consistent(self) -> Catalogue:
        feature_ids = [feature.id for feature in self.features]
        if sorted(feature_ids) != sorted(FEATURE_IDS):
            raise ValueError(
                f"features must be exactly {', '.join(FEATURE_IDS)} (each once); got {', '.join(feature_ids)}"
            )
        for feature in self.features:
            if feature.optional == (feature.id in MANDATORY_FEATURES):
                expected = "false" if feature.id in MANDATORY_FEATURES else "true"
                raise ValueError(f"feature {feature.id}: optional must be {expected}")
            if feature.id in feature.requires:
                raise ValueError(f"feature {feature.id} cannot require itself")
        seen: set[str] = set()
        for requirement in self.requirements:
            if requirement.id in seen:
                raise ValueError(f"requirement id {requirement.id} appears more than once")
            seen.add(requirement.id)
        empty = [
            feature for feature in feature_ids if not any(r.feature == feature for r in self.requirements)
        ]
        if empty:
            raise ValueError(f"features without requirements: {', '.join(empty)}")
        entries: list[ScopedOut | OpenCase] = [*self.scope.out_of_scope, *self.scope.unspecified]
        for entry in entries:
            # One id space, so that a scope entry and a requirement can never be confused in a reference.
            if entry.id in seen:
                raise ValueError(f"scope entry id {entry.id} appears more than once or is a requirement id")
            seen.add(entry.id)
        requirement_ids = {requirement.id for requirement in self.requirements}
        for entry in entries:
            unknown = [related for related in entry.related if related not in requirement_ids]
            if unknown:
                raise ValueError(f"scope entry {entry.id}: related names unknown requirements {unknown}")
        return self

    def model_post_init(self, context: object, /) -> None:
        self._by_id = {requirement.id: requirement for requirement in self.requirements}

    @property
    def requirement_ids(self) -> list[str]:
        """All requirement ids, in catalogue order."""
        return [requirement.id for requirement in self.requirements]

    def requirement(self, requirement_id: str) -> Requirement:
        """The requirement with this id; else `UnknownIdError` (a KeyError) naming close matches."""
        try:
            return self._by_id[requirement_id]
        except KeyError:
            raise UnknownIdError(_unknown_id_message(requirement_id, self._by_id)) from None

    def scope_entry(self, entry_id: str) -> ScopedOut | OpenCase:
        """The scope entry (scoped out, or left open) with this id, as reports print it; else
        `UnknownIdError` naming close matches among requirement and scope ids."""
        entries: list[ScopedOut | OpenCase] = [*self.scope.out_of_scope, *self.scope.unspecified]
        for entry in entries:
            if entry.id == entry_id:
                return entry
        known = [*self._by_id, *(entry.id for entry in entries)]
        raise UnknownIdError(_unknown_id_message(entry_id, known, "id"))

    def has_requirement(self, requirement_id: str) -> bool:
        return requirement_id in self._by_id

    def feature(self, feature_id: str) -> Feature:
        """The feature with this id; else `UnknownIdError` (a KeyError) listing the valid ids."""
        for feature in self.features:
            if feature.id == feature_id:
                return feature
        raise UnknownIdError(f"unknown feature {feature_id!r}; valid features: {', '.join(FEATURE_IDS)}")

    def requirements_for_feature(self, feature_id: str) -> list[Requirement]:
        """The requirements of one feature, in catalogue order."""
        self.feature(feature_id)
        return [requirement for requirement in self.requirements if requirement.feature == feature_id]

    def quoted_sources(self) -> list[tuple[str, Source]]:
        """(id, source) of every quote in the catalogue: requirements, then scope entries."""
        entries: list[Requirement | ScopedOut | OpenCase] = [
            *self.requirements,
            *self.scope.out_of_scope,
            *self.scope.unspecified,
        ]
        return [(entry.id, entry.source) for entry in entries if entry.source is not None]


def load_catalogue(path: Path = DEFAULT_CATALOGUE_PATH) -> Catalogue:
    """Load and validate a catalogue file; `ModelFileError` names the file and every bad field."""
    return load_model_file(path, Catalogue, "catalogue")


def catalogue_digest(path: Path = DEFAULT_CATALOGUE_PATH) -> str:
    """SHA-256 of the catalogue file's bytes: a report records it, so a reviewer can tell which catalogue
    (which set of requirements, statements and quotes) a run was measured against."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def check_coverage(catalogue: Catalogue, test_requirements: Mapping[str, Sequence[str]]) -> list[str]:
    """Compare the tests' requirement markers with the catalogue; return the problems, empty when none.

    `test_requirements` maps each test's node id to the requirement ids its marker names. Problems: a
    test that names no requirement (it certifies nothing), a test that names an unknown id (a typo or a
    requirement removed from the catalogue), and a requirement no test names (it is claimed but never
    checked). Tests come first, in node id order, then requirements in catalogue order.
    """
    problems: list[str] = []
    covered: set[str] = set()
    for nodeid in sorted(test_requirements):
        requirement_ids = test_requirements[nodeid]
        if not requirement_ids:
            problems.append(f"{nodeid}: names no requirement; add @pytest.mark.requirement(<id>, ...)")
        for requirement_id in requirement_ids:
            if catalogue.has_requirement(requirement_id):
                covered.add(requirement_id)
            else:
                problems.append(f"{nodeid}: {_unknown_id_message(requirement_id, catalogue.requirement_ids)}")
    problems.extend(
        f"{requirement.id}: no test certifies this requirement ({requirement.feature})"
        for requirement in catalogue.requirements
        if requirement.id not in covered
    )
    return problems


def _unknown_id_message(
    requirement_id: str, known_ids: Sequence[str] | Mapping[str, object], what: str = "requirement id"
) -> str:
    close = difflib.get_close_matches(requirement_id, list(known_ids), n=3)
    hint = f"; did you mean {' or '.join(close)}?" if close else ""
    return f"unknown {what} {requirement_id!r}{hint}"


def normalise_whitespace(text: str) -> str:
    """Runs of whitespace as one space: the catalogue folds long quotes over lines (YAML `>-`) and
    the documents are text extractions of web pages, so only the words and their order are compared."""
    return " ".join(text.split())


def check_quotes(catalogue: Catalogue, sources_dir: Path = SOURCES_DIR) -> list[str]:
    """Check every quote (of requirements and of scope entries) against its source document; return the
    problems, empty when none.

    A quote must appear verbatim in `<sources_dir>/<document>.txt`, modulo whitespace; and unless its
    section is "(introduction)", the section heading must appear somewhere before that quote (headings
    are not reliably on lines of their own in the extracted text, so this is the check that holds).
    A quote that is not found is reported with the longest part of it that the document does contain
    and what the document says after that, which is where the quote went wrong.
    """
    problems: list[str] = []
    documents: dict[str, str] = {}
    for entry_id, source in catalogue.quoted_sources():
        path = sources_dir / f"{source.document}.txt"
        if source.document not in documents:
            if not path.is_file():
                problems.append(f"{entry_id}: source document {path} does not exist")
                continue
            documents[source.document] = normalise_whitespace(path.read_text(encoding="utf-8"))
        text = documents[source.document]
        quote = normalise_whitespace(source.quote)
        found = [match.start() for match in re.finditer(re.escape(quote), text)]
        if not found:
            problems.append(f"{entry_id}: quote not found in {path.name}: {_divergence(quote, text)}")
            continue
        if source.section != INTRODUCTION:
            heading = text.find(normalise_whitespace(source.section))
            if heading < 0 or heading >= found[-1]:
                problems.append(
                    f"{entry_id}: section {source.section!r} does not precede the quote in {path.name}"
                )
    return problems


def _divergence(quote: str, text: str) -> str:
    """Where a quote stops matching: its longest prefix that the text contains, and what follows it."""
    low, high = 0, len(quote)  # the longest prefix found: binary search on its length
    while low < high:
        middle = (low + high + 1) // 2
        if quote[:middle] in text:
            low = middle
        else:
            high = middle - 1
    if low == 0:
        return f"not even its first character occurs: {quote[:60]!r}"
    start = text.find(quote[:low]) + low
    return (
        f"it matches up to {quote[max(0, low - 40) : low]!r}, then the quote has "
        f"{quote[low : low + 40]!r} where the document has {text[start : start + 40]!r}"
    )
