"""Small synthetic catalogues, implementations and test records for the harness unit tests."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from vnode_harness.formats.catalogue import FEATURE_IDS, MANDATORY_FEATURES
from vnode_harness.formats.implementation import Implementation
from vnode_harness.report.model import RecordedTest, RunInfo


def feature_entry(feature_id: str) -> dict[str, Any]:
    return {
        "id": feature_id,
        "title": f"{feature_id} title",
        "description": f"what {feature_id} promises",
        "optional": feature_id not in MANDATORY_FEATURES,
    }


def requirement_entry(requirement_id: str, feature: str, **overrides: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "id": requirement_id,
        "statement": f"The implementation MUST do {requirement_id}.",
        "source": {"document": "002_defe58e5e33e4986", "section": "Selector fields", "quote": "a quote"},
        "feature": feature,
        "severity": "normal",
    }
    entry.update(overrides)
    return entry


def catalogue_data(requirements_per_feature: int = 1) -> dict[str, Any]:
    """A valid catalogue: every feature has `requirements_per_feature` requirements named F<n>-R<m>."""
    requirements = [
        requirement_entry(f"F{index}-R{number}", feature_id)
        for index, feature_id in enumerate(FEATURE_IDS)
        for number in range(1, requirements_per_feature + 1)
    ]
    return {
        "schemaVersion": 1,
        "features": [feature_entry(feature_id) for feature_id in FEATURE_IDS],
        "requirements": requirements,
    }


def write_yaml(path: Path, data: Any) -> Path:
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def implementation_data(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "apiVersion": "conformance.vnode.dev/v1alpha1",
        "kind": "Implementation",
        "metadata": {
            "organization": "Acme",
            "project": "acme-vnode",
            "version": "1.2.3",
            "url": "https://acme.example/vnode",
            "contact": "vnode@acme.example",
        },
        "features": ["core-scheduling"],
    }
    data.update(overrides)
    return data


def implementation(features: list[str]) -> Implementation:
    return Implementation.model_validate(implementation_data(features=features))


def run_info(**overrides: Any) -> RunInfo:
    """A full run on the local cluster that finished at a fixed moment; `overrides` are RunInfo fields."""
    fields: dict[str, Any] = {
        "suite_version": "0.1.0",
        "cluster_provider": "local",
        "kubernetes_version": "v1.35.0",
        "mode": "full",
        "command": "pytest conformance",
        "date": datetime(2026, 11, 22, 8, 0, tzinfo=UTC),
    }
    fields.update(overrides)
    return RunInfo(**fields)


def recorded(nodeid: str, requirements: list[str], outcome: str, reason: str | None = None) -> RecordedTest:
    return RecordedTest.model_validate(
        {
            "nodeid": nodeid,
            "requirements": requirements,
            "outcome": outcome,
            "durationSeconds": 1.0,
            "reason": reason,
        }
    )
