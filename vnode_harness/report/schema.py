"""The JSON schema of the conformance report, generated from the pydantic models.

The committed `docs/conformance-report.schema.json` is what vendors and tools validate reports against;
it is generated, never edited, and a unit test fails when it falls behind the models. Regenerate with:

    python -m vnode_harness.report.schema          # write the file
    python -m vnode_harness.report.schema --check  # exit 1 when it is out of date
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from vnode_harness.formats.paths import REPORT_SCHEMA_PATH
from vnode_harness.report.model import REPORT_API_VERSION, ConformanceReport

JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
SCHEMA_PATH = REPORT_SCHEMA_PATH


def report_json_schema() -> dict[str, Any]:
    """The schema of a report as the suite writes it (serialization mode: every field is present)."""
    schema = ConformanceReport.model_json_schema(by_alias=True, mode="serialization")
    schema["title"] = f"ConformanceReport ({REPORT_API_VERSION})"
    return {"$schema": JSON_SCHEMA_DIALECT, **schema}


def render_report_schema() -> str:
    return json.dumps(report_json_schema(), indent=2, ensure_ascii=False) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write or check the conformance report JSON schema.")
    parser.add_argument("--output", type=Path, default=SCHEMA_PATH, help="schema file (default: %(default)s)")
    parser.add_argument("--check", action="store_true", help="do not write; exit 1 when the file is stale")
    arguments = parser.parse_args(argv)
    rendered = render_report_schema()
    output: Path = arguments.output
    if arguments.check:
        current = output.read_text(encoding="utf-8") if output.exists() else None
        if current != rendered:
            sys.stderr.write(f"{output} is out of date; run: python -m vnode_harness.report.schema\n")
            return 1
        return 0
    output.write_text(rendered, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
