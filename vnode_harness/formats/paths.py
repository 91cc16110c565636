"""Where the repository's own files are, in one place, so a module that moves keeps finding them.

The harness is installed editable from the repository (tox's `package = editable`): the suite, the
catalogue, the seed fixtures and the report schema are read from the checkout, not from site-packages.
"""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
CONFORMANCE_DIR = REPO_ROOT / "conformance"
CATALOGUE_PATH = CONFORMANCE_DIR / "catalogue.yaml"
FIXTURES_DIR = REPO_ROOT / "fixtures"
REPORT_SCHEMA_PATH = REPO_ROOT / "docs" / "conformance-report.schema.json"
KIND_CONFIG_DIR = REPO_ROOT / "kind-config"
