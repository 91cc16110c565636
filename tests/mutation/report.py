"""matrix.yaml and matrix.md: every mutant and variant with its verdict, the kill rate, and coverage."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from tests.mutation.verdicts import Coverage, EntryResult


@dataclass(frozen=True)
class MatrixSummary:
    results: Sequence[EntryResult]
    coverage: Coverage
    mode: str
    """"targeted" (each mutant: its requirement and controls) or "full" (the whole suite per mutant)."""
    seconds: float
    command: str

    @property
    def mutants(self) -> list[EntryResult]:
        return [r for r in self.results if r.kind == "mutant"]

    @property
    def variants(self) -> list[EntryResult]:
        return [r for r in self.results if r.kind == "variant"]

    @property
    def killed(self) -> int:
        return sum(r.verdict == "killed" for r in self.mutants)

    @property
    def kill_rate(self) -> str:
        return f"{self.killed}/{len(self.mutants)}"


def write_matrix(summary: MatrixSummary, directory: Path) -> tuple[Path, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    yaml_path, md_path = directory / "matrix.yaml", directory / "matrix.md"
    yaml_path.write_text(yaml.safe_dump(_as_data(summary), sort_keys=False, width=120))
    md_path.write_text(render_markdown(summary))
    return yaml_path, md_path


def _as_data(summary: MatrixSummary) -> dict[str, object]:
    return {
        "mode": summary.mode,
        "command": summary.command,
        "seconds": round(summary.seconds, 1),
        "killRate": summary.kill_rate,
        "variantsPassed": f"{sum(v.verdict == 'passed' for v in summary.variants)}/{len(summary.variants)}",
        "entries": [
            {
                "name": r.name,
                "kind": r.kind,
                "requirement": r.requirement,
                "description": r.description,
                "verdict": r.verdict,
                "why": r.why,
                "controls": list(r.controls),
                "collateral": list(r.collateral),
                "seconds": round(r.seconds, 1),
            }
            for r in summary.results
        ],
        "coverage": dict(summary.coverage),
    }


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown(summary: MatrixSummary) -> str:
    lines = [
        "# Mutation matrix",
        "",
        f"Kill rate **{summary.kill_rate}** ({summary.mode} mode), "
        f"{len(summary.variants)} variant(s), {summary.seconds / 60:.1f} min: `{summary.command}`",
        "",
        "| mutant | requirement | what is wrong | verdict | collateral | s |",
        "|---|---|---|---|---|---|",
    ]
    lines += [
        f"| `{r.name}` | {r.requirement} | {_cell(r.description)} | {r.verdict}: {_cell(r.why)} | "
        f"{', '.join(r.collateral) or '—'} | {r.seconds:.0f} |"
        for r in summary.mutants
    ]
    if summary.variants:
        lines += ["", "| variant | what is different | verdict | not passed | s |", "|---|---|---|---|---|"]
        lines += [
            f"| `{r.name}` | {_cell(r.description)} | {r.verdict}: {_cell(r.why)} | "
            f"{', '.join(r.collateral) or '—'} | {r.seconds:.0f} |"
            for r in summary.variants
        ]
    lines += ["", "## Coverage", "", "| requirement | killing mutants |", "|---|---|"]
    lines += [f"| {requirement} | {_cell(entry)} |" for requirement, entry in summary.coverage.items()]
    return "\n".join(lines) + "\n"
