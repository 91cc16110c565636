"""Every command the README and docs/ show exists as written: its tox environment, its `vnode`
subcommand and options, its benchmark name, its module, every `--option` it passes to the suite.

A reviewer copies these commands onto a fresh clone; a renamed option or a command that needs an
environment that does not exist yet (`.tox/conformance/bin/vnode` before `tox` made it) fails here, not
in their terminal. Commands are read from fenced shell blocks and from inline code that starts with one
of the project's own entry points.
"""

from __future__ import annotations

import configparser
import contextlib
import functools
import importlib.util
import io
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from vnode_harness.cli.main import build_parser

REPO = Path(__file__).resolve().parents[3]
DOCUMENTS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
OWN_ENTRY_POINTS = ("tox ", "vnode ", "python bench/run.py", "python -m ", "bash ", "pytest ")
OTHER_TOOLS = {"git", "kind", "kubectl", "grep", "farm-bench", "docker", "sh", "go", "npm", "cd", "ls"}
"""Commands of other tools the documents show (their options are theirs to keep)."""
BENCH_SUBCOMMANDS = ("soak", "faults", "default-soak", "fuzz")
"""bench/run.py's names with options of their own (the others are in its BENCHES)."""


def shell_blocks(text: str) -> list[str]:
    commands = []
    for block in re.findall(r"```(?:bash|sh|shell|console)\n(.*?)```", text, re.S):
        for line in block.replace("\\\n", " ").splitlines():
            command = re.split(r"\s+#", line)[0].strip()
            if command and not command.startswith("#"):
                commands.append(command)
    return commands


def inline_commands(text: str) -> list[str]:
    outside_blocks = re.sub(r"```.*?```", "", text, flags=re.S)
    spans = re.findall(r"`([^`\n]+)`", outside_blocks)
    return [span for span in spans if span.startswith(OWN_ENTRY_POINTS) or span == "vnode"]


def documented_commands() -> list[tuple[str, str, bool]]:
    """(document, command, whether it is a mention in prose rather than a command line to copy)."""
    found = []
    for document in DOCUMENTS:
        text = document.read_text(encoding="utf-8")
        name = document.relative_to(REPO).as_posix()
        found += [(name, command, False) for command in shell_blocks(text)]
        found += [(name, command, True) for command in inline_commands(text)]
    return sorted(set(found))


def is_placeholder(token: str) -> bool:
    """NAME, DIR, ID: a word the reader replaces."""
    return bool(re.fullmatch(r"[A-Z][A-Z_]*", token))


def words(command: str) -> list[str]:
    """The command's words, placeholders made concrete: `[--feature F]` is an option like any other,
    `…` (an elided rest) is dropped, `LOG`-style redirections end it."""
    tokens = shlex.split(command.replace("[", "").replace("]", ""))
    kept = []
    for token in tokens:
        if token in (">", ">>", "|", "&&", ";") or token.startswith((">", "2>")):
            break
        if "…" not in token:
            kept.append(token)
    return kept


def options(tokens: list[str]) -> list[str]:
    return [token.split("=")[0] for token in tokens if re.fullmatch(r"--[a-z][a-z0-9-]*(=.*)?", token)]


@functools.cache
def help_of(*argv: str) -> str:
    result = subprocess.run(
        [sys.executable, *argv, "--help"], cwd=REPO, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, f"{' '.join(argv)} --help failed: {result.stderr[-800:]}"
    return result.stdout


@functools.cache
def tox_environments() -> set[str]:
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(REPO / "tox.ini")
    sections = parser.sections()
    return {section.removeprefix("testenv:") for section in sections if section.startswith("testenv:")}


TOX_POSARGS_HELP = {
    "conformance": ("-m", "pytest", "conformance", "-p", "no:cacheprovider"),
    "faults": ("-m", "pytest", "tests/faults", "-p", "no:cacheprovider"),
    "integration": ("-m", "pytest", "tests/integration", "-p", "no:cacheprovider"),
    "unit": ("-m", "pytest", "tests/unit", "-p", "no:cacheprovider"),
    "mutation": ("-m", "tests.mutation.matrix"),
    "bench": ("bench/run.py",),
}


def unknown_options(tokens: list[str], help_text: str) -> list[str]:
    return [option for option in options(tokens) if not re.search(rf"{re.escape(option)}\b", help_text)]


def check_tox(tokens: list[str], *, mention: bool) -> list[str]:
    if len(tokens) == 1:
        return []
    if tokens[1] == "exec":  # tox exec -e ENV -- COMMAND: the environment, then the command in it
        if tokens[2] != "-e" or tokens[4:5] != ["--"]:
            return ["show tox exec as `tox exec -e ENV -- COMMAND`"]
        if tokens[3] not in tox_environments():
            return [f"tox.ini has no environment {tokens[3]!r}"]
        return problems_of(shlex.join(tokens[5:]), mention=mention)
    if tokens[1] != "-e":
        return [f"tox is run with `-e ENV` in the documents, not {tokens[1]!r}"]
    environment, posargs = tokens[2], tokens[4:] if tokens[3:4] == ["--"] else []
    if environment not in tox_environments():
        return [f"tox.ini has no environment {environment!r}"]
    if environment == "bench" and posargs:
        return check_bench(["python", "bench/run.py", *posargs])
    if not posargs or environment not in TOX_POSARGS_HELP:
        return []
    return [f"`{option}` is not an option of tox -e {environment}"
            for option in unknown_options(posargs, help_of(*TOX_POSARGS_HELP[environment]))]  # fmt: skip


def check_vnode(tokens: list[str], *, mention: bool) -> list[str]:
    """Parsed by vnode's own parser; a mention in prose may leave out the arguments it requires."""
    stderr = io.StringIO()
    try:
        with contextlib.redirect_stderr(stderr), contextlib.redirect_stdout(io.StringIO()):
            build_parser().parse_args(tokens[1:])
    except SystemExit as exit_:
        refusal = stderr.getvalue().strip().splitlines()[-1] if stderr.getvalue().strip() else ""
        if exit_.code not in (0, None) and not (mention and "arguments are required" in refusal):
            return [f"vnode refuses it: {refusal}"]
    return []


def check_pytest(tokens: list[str]) -> list[str]:
    paths = [token for token in tokens[1:] if not token.startswith("-") and (REPO / token).exists()]
    help_text = help_of("-m", "pytest", *paths[:1], "-p", "no:cacheprovider")
    return [f"`{option}` is not an option of pytest {' '.join(paths[:1])}"
            for option in unknown_options(tokens[1:], help_text)]  # fmt: skip


def check_bench(tokens: list[str]) -> list[str]:
    if len(tokens) < 3:
        return []
    name = tokens[2]
    if is_placeholder(name):
        return []
    source = (REPO / "bench" / "run.py").read_text()
    known = set(re.findall(r'^    "([a-z-]+)": bench_', source, re.M)) | set(BENCH_SUBCOMMANDS)
    if name not in known:
        return [f"bench/run.py has no benchmark {name!r} (it has {sorted(known)})"]
    if name not in BENCH_SUBCOMMANDS:
        return []
    return [f"`{option}` is not an option of bench/run.py {name}"
            for option in unknown_options(tokens[3:], help_of("bench/run.py", name))]  # fmt: skip


def check_python_module(tokens: list[str]) -> list[str]:
    module = tokens[2]
    if tokens[:4] == ["python3", "-m", "pip", "install"]:
        return []
    if importlib.util.find_spec(module) is None:
        return [f"no module {module!r}"]
    return [f"`{option}` is not an option of python -m {module}"
            for option in unknown_options(tokens[3:], help_of("-m", module))]  # fmt: skip


def problems_of(command: str, *, mention: bool = False) -> list[str]:
    tokens = words(command)
    while tokens and re.fullmatch(r"[A-Z_]+=\S*", tokens[0]):  # VAR=value before the command
        tokens = tokens[1:]
    if not tokens:
        return []
    program = tokens[0]
    if program == "tox":
        return check_tox(tokens, mention=mention)
    if program == "vnode":
        return check_vnode(tokens, mention=mention)
    if program == "pytest":
        return check_pytest(tokens)
    if program in ("python", "python3") and tokens[1:2] == ["bench/run.py"]:
        return check_bench(tokens)
    if program in ("python", "python3") and tokens[1:2] == ["-m"]:
        return check_python_module(tokens)
    if program == "bash":
        return [] if (REPO / tokens[1]).is_file() else [f"no file {tokens[1]}"]
    if program.startswith(".tox/"):
        return [f"{program} exists only after tox made that environment: show `tox exec -e ENV -- …`"]
    if program in OTHER_TOOLS:
        return []
    return [f"{program!r} is not a command of this project nor one the documents are known to use"]


@pytest.mark.parametrize(("document", "command", "mention"), documented_commands())
def test_a_documented_command_exists_as_written(document, command, mention):
    assert problems_of(command, mention=mention) == [], f"{document}: `{command}`"


@pytest.mark.parametrize(
    ("command", "problem"),
    [
        ("tox -e conformence", "no environment 'conformence'"),
        ("tox -e conformance -- --cluster kind --kind-imgs built", "`--kind-imgs` is not an option"),
        ("vnode report verfy x.tar.gz", "vnode refuses it"),
        ("python bench/run.py default-soak --rounds 5", "`--rounds` is not an option"),
        ("python bench/run.py warmstart", "no benchmark 'warmstart'"),
        (".tox/conformance/bin/vnode kind images", "exists only after tox made"),
        ("python -m vnode_harness.report.schemas", "no module"),
        ("vnode report verify", "arguments are required"),
        ("pytest conformance --clusterz 2", "`--clusterz` is not an option"),
        ("tox exec -e conformance -- vnode kind imgs", "vnode refuses it"),
        ("tox exec -e conformence -- vnode kind images", "no environment 'conformence'"),
    ],
)
def test_a_wrong_command_is_caught(command, problem):
    found = problems_of(command)
    assert any(problem in line for line in found), found
