"""Markdown tables and cells, shared by the sections of the Markdown report.

A cell is one line (whitespace collapsed) with `|` escaped, so that a reason or a quote can never break
a table or add a row of its own.
"""

from __future__ import annotations


def table(header: list[str], rows: list[list[str]]) -> str:
    lines = [_row(header), "|" + "---|" * len(header)]
    lines.extend(_row(row) for row in rows)
    return "\n".join(lines)


def cell(text: str) -> str:
    return " ".join(text.replace("|", "\\|").split())


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(cell(text) for text in cells) + " |"
