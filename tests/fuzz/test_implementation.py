"""Fuzz the harness's implementation-file loader (issue 13 item 4): a vendor's hand-written YAML.

Any file gives a loaded ``Implementation`` or a ``ModelFileError`` whose message names the file and,
for a file that is YAML but not a valid implementation, the field: never a traceback, never a hang.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import event, given

from vnode_harness.formats.implementation import Implementation, load_implementation
from vnode_harness.formats.yaml_files import ModelFileError

from .budget import budgeted
from .implementation_inputs import VALID_IMPLEMENTATION, VALID_TEXT, any_file, damaged_files
from .strategies import render_yaml, to_bytes
from .watchdog import within

#: A problem line of an invalid file: ``  - <field path>: <message>``.
PROBLEM_LINE = re.compile(r"  - .+: \S")
#: Long enough for any field path and message; a value quoted in full would flood the terminal.
LONGEST_LINE = 2_000


@pytest.fixture(scope="module")
def file_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz-implementation") / "implementation.yaml"


def load(path: Path, content: bytes) -> Implementation | str:
    """The loaded implementation or the error's message; any other exception fails the test."""
    path.write_bytes(content)
    try:
        return within(lambda: load_implementation(path), "load_implementation")
    except ModelFileError as error:
        return str(error)


def check_message(message: str, path: Path) -> None:
    assert message.startswith(f"{path}: "), message[:300]
    lines = message.split("\n")
    assert all(len(line) <= LONGEST_LINE for line in lines), f"a {max(map(len, lines))}-character line"
    if "invalid implementation file" in lines[0]:
        event("invalid fields")
        assert lines[1:], message
        for line in lines[1:]:
            assert PROBLEM_LINE.match(line), line
    else:
        event(lines[0].split(": ", 1)[1][:45])


@budgeted()
@given(content=any_file)
def test_any_file_loads_or_fails_naming_the_problem(file_path, content):
    outcome = load(file_path, content)
    if isinstance(outcome, Implementation):
        event("loaded")
        return
    check_message(outcome, file_path)


@budgeted()
@given(damage=damaged_files)
def test_a_damaged_field_is_named_in_the_error(file_path, damage):
    outcome = load(file_path, to_bytes(render_yaml(damage.document)))
    if isinstance(outcome, Implementation):
        event("loaded")
        return
    check_message(outcome, file_path)
    if "invalid implementation file" in outcome:
        top = str(damage.path[0])
        assert re.search(rf"  - {re.escape(top)}\b", outcome), f"{damage.path}: {outcome[:500]}"


def test_the_undamaged_file_loads(file_path):
    assert isinstance(load(file_path, to_bytes(render_yaml(VALID_IMPLEMENTATION))), Implementation)


# --- what the fuzzer found (each failed before the fix in vnode_harness/formats/yaml_files.py) --------------


def test_a_sequence_as_a_mapping_key_is_a_yaml_error(file_path):
    """Was ``TypeError: unhashable type: 'list'`` from the duplicate-key check."""
    message = load(file_path, b"? [a, b]\n: x\n")
    assert message == (
        f"{file_path}: the implementation file is not valid YAML: while constructing a mapping: "
        "found unhashable key at line 1, column 3"
    )


def test_deep_nesting_is_refused_not_a_recursion_error(file_path):
    """Was ``RecursionError`` out of PyYAML's recursive composer."""
    message = load(file_path, b"k: " + b"[" * 600 + b"]" * 600 + b"\n")
    assert message == f"{file_path}: the implementation file is nested too deeply to be read"


def test_a_huge_value_is_quoted_cut_short(file_path):
    """Was a 200 kB error line: the whole value quoted, in the field label and the message."""
    text = VALID_TEXT.replace("name: x:dev", "name: '" + "x" * 200_000 + "'").replace(
        "context: .", "context: ''"
    )
    text = text.replace("apiVersion: conformance.vnode.dev/v1alpha1", "apiVersion: '" + "y" * 200_000 + "'")
    message = load(file_path, text.encode())
    assert isinstance(message, str)
    lines = message.split("\n")
    assert max(map(len, lines)) < 300, lines
    assert lines[1].startswith("  - apiVersion: Input should be 'conformance.vnode.dev/v1alpha1' (got 'yyy")
    assert lines[1].endswith("...)")
    assert lines[2].startswith("  - install.kind.images[0]('xxx"), lines[2]
    assert lines[2].endswith("...).context: String should have at least 1 character (got '')")


def test_a_key_with_a_line_break_stays_on_its_line(file_path):
    message = load(file_path, VALID_TEXT.replace("limits:", '"bad\\nkey": 1\nlimits:').encode())
    assert isinstance(message, str)
    assert "  - 'bad\\nkey': unknown field (misspelt?)" in message, message
