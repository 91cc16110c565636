"""Every requirement's quote is in its source document (conformance/sources/), word for word."""

from __future__ import annotations

from typing import get_args

import pytest

from tests.unit.harness.builders import catalogue_data
from vnode_harness.formats.catalogue import (
    SOURCES_DIR,
    Catalogue,
    SeedDocument,
    check_quotes,
    load_catalogue,
    normalise_whitespace,
)


def test_every_quote_of_the_real_catalogue_is_verbatim_in_its_source():
    assert check_quotes(load_catalogue()) == []


def test_both_source_documents_are_in_the_repository_with_a_note_on_their_origin():
    readme = (SOURCES_DIR / "README.md").read_text(encoding="utf-8")
    for document in get_args(SeedDocument):
        assert (SOURCES_DIR / f"{document}.txt").is_file(), f"conformance/sources/{document}.txt is missing"
        assert f"`{document}.txt`" in readme, (
            f"conformance/sources/README.md does not say where {document} is from"
        )


def catalogue_with(tmp_path, **source):
    """A one-requirement-per-feature catalogue whose first requirement has `source`; sources in tmp_path."""
    (tmp_path / "002_defe58e5e33e4986.txt").write_text(
        "Intro text.\nSelector fields\nname | Yes | String | A unique identifier for this selector\n"
        "Verify selectors\nAfter saving the profile, confirm the selectors are active:\n",
        encoding="utf-8",
    )
    data = catalogue_data()
    for requirement in data["requirements"]:
        requirement["source"] = {
            "document": "002_defe58e5e33e4986",
            "section": "Selector fields",
            "quote": "A unique identifier for this selector",
        }
    data["requirements"][0]["source"] = {"document": "002_defe58e5e33e4986", **source}
    return Catalogue.model_validate(data)


def test_whitespace_and_line_folding_do_not_matter(tmp_path):
    catalogue = catalogue_with(
        tmp_path, section="Verify selectors", quote="After saving  the\n profile, confirm the selectors"
    )
    assert check_quotes(catalogue, tmp_path) == []


def test_a_changed_word_is_reported_with_where_the_quote_diverges(tmp_path):
    catalogue = catalogue_with(
        tmp_path,
        section="Verify selectors",
        quote="After saving the profile, verify the selectors are active",
    )
    [problem] = check_quotes(catalogue, tmp_path)
    assert problem.startswith("F0-R1: quote not found in 002_defe58e5e33e4986.txt: it matches up to ")
    assert (
        "then the quote has 'verify the selectors are active' where the document has 'confirm the" in problem
    )


def test_a_quote_under_the_wrong_section_is_reported(tmp_path):
    catalogue = catalogue_with(
        tmp_path, section="Verify selectors", quote="A unique identifier for this selector"
    )
    assert check_quotes(catalogue, tmp_path) == [
        "F0-R1: section 'Verify selectors' does not precede the quote in 002_defe58e5e33e4986.txt"
    ]


def test_introduction_quotes_need_no_heading(tmp_path):
    assert (
        check_quotes(catalogue_with(tmp_path, section="(introduction)", quote="Intro text."), tmp_path) == []
    )


def test_a_missing_document_is_reported(tmp_path):
    catalogue = catalogue_with(tmp_path, section="Selector fields", quote="x")
    (tmp_path / "002_defe58e5e33e4986.txt").unlink()
    problems = check_quotes(catalogue, tmp_path)
    assert problems[0].startswith("F0-R1: source document ")
    assert problems[0].endswith("002_defe58e5e33e4986.txt does not exist")


def test_scope_quotes_are_checked_too(tmp_path):
    catalogue = catalogue_with(tmp_path, section="Verify selectors", quote="confirm the selectors are active")
    scope = {
        "id": "OUT-A",
        "source": {"document": "002_defe58e5e33e4986", "section": "Selector fields", "quote": "not there"},
        "reason": "not-observable",
        "explanation": "why",
    }
    data = catalogue.model_dump(by_alias=True)
    data["scope"] = {"outOfScope": [scope]}
    [problem] = check_quotes(Catalogue.model_validate(data), tmp_path)
    assert problem.startswith("OUT-A: quote not found in 002_defe58e5e33e4986.txt")


@pytest.mark.parametrize(("text", "normal"), [(" a \n b\tc ", "a b c"), ("", "")])
def test_whitespace_normalisation(text, normal):
    assert normalise_whitespace(text) == normal
