"""Loads the seed documents' examples from fixtures/ (the single copy the tests use)."""

from __future__ import annotations

import json
from typing import Any

import yaml

from vnode_harness.formats.paths import FIXTURES_DIR


def profile_fixture(name: str) -> dict[str, str]:
    """The eci-profile data keys of `fixtures/profiles/<name>.yaml`."""
    data = yaml.safe_load((FIXTURES_DIR / "profiles" / f"{name}.yaml").read_text())
    return {str(key): str(value) for key, value in data.items()}


def selectors_of(name: str) -> list[dict[str, Any]]:
    selectors: list[dict[str, Any]] = json.loads(profile_fixture(name)["selectors"])
    return selectors
