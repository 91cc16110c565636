"""How to run a submission again: data derived from the report, never a script from the submitter.

A reviewer is told how to reproduce a run, so what they are told to run must be what this suite derives
from the report's facts, not what a submitter wrote: the recorded pytest command is parsed, each
argument must be one a conformance run is reproduced with (a test path under `conformance/`, the suite's
own options, xdist's worker count, `-p no:…`), options that name the submitter's host (kubeconfig, pid,
reports directory) are dropped, and `--implementation` always names the bundle's implementation file.
An argument outside those is a problem of the report (`command_problems`); the bundle's
`reproduce.json` is rendered from the report and compared by `vnode report verify`.
"""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from vnode_harness.report.model import ConformanceReport

IMPLEMENTATION_FILE = "implementation.yaml"
"""The implementation file's name in the bundle, and in the reproduced command."""

_KEPT_WITH_VALUE = frozenset(
    {"-n", "--numprocesses", "--dist", "-k", "-m", "--maxfail", "--cluster", "--clusters", "--kind-images"}
    | {"--gen-seed", "--gen-cases", "--gen-only", "--kind-image"}
)
_KEPT_FLAGS = frozenset({"-x", "--exitfirst", "--fail-fast", "-q", "--quiet", "-v", "--verbose", "-vv", "-s"})
_HOST_SPECIFIC = frozenset(
    {"--kubeconfig", "--implementation-pid", "--reports-dir", "--basetemp", "--allure-history"}
    | {"--cluster-name", "--kind-bin", "--kind-kubectl-bin"}
)
"""Options whose value is a path, process or name of the submitter's host: meaningless to a reviewer."""
_HOST_FLAGS = frozenset({"--keep-cluster"})
"""Flags about the submitter's host that change no verdict (a kept kind cluster): dropped."""
_REPLACED = "--implementation"
_SUITE_DIRECTORY = "conformance"


@dataclass
class _Parsed:
    arguments: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def reproduce_arguments(command: str) -> list[str]:
    """The pytest command line that reproduces a run recorded as `command` (see the module docstring)."""
    return _parse(command).arguments


def command_problems(command: str) -> list[str]:
    """Why `command` is not a conformance run this suite reproduces; empty when it is one."""
    return _parse(command).problems


def render_reproduce(report: ConformanceReport) -> str:
    """The bundle's `reproduce.json`: which suite, catalogue and implementation file, and the command."""
    generated = report.generated_cases
    data = {
        "suiteVersion": report.suite_version,
        "suiteCheckout": report.fingerprint.checkout if report.fingerprint else "not recorded",
        "catalogueDigest": report.catalogue_digest,
        "implementationFile": IMPLEMENTATION_FILE,
        "implementationSha256": report.implementation.file_sha256,
        "command": reproduce_arguments(report.command),
        "generatedCases": generated.model_dump(mode="json", by_alias=True) if generated else None,
        "how": "From the root of a checkout of suiteCheckout (or suiteVersion), with this bundle's "
        f"{IMPLEMENTATION_FILE} copied there, run `command`. This is data written by `vnode`; "
        "`vnode report verify` renders it again from the report and prints the command.",
    }
    return json.dumps(data, indent=2) + "\n"


def _parse(command: str) -> _Parsed:
    parsed = _Parsed()
    try:
        words = shlex.split(command)
    except ValueError as error:
        parsed.problems.append(f"command {command!r} is not a shell command line ({error})")
        return parsed
    if not words or PurePosixPath(words[0]).name != "pytest":
        parsed.problems.append(f"command {command!r} is not a pytest command line")
        return parsed
    parsed.arguments.append("pytest")
    rest = iter(words[1:])
    for word in rest:
        name, equals, inline = word.partition("=")
        takes_value = name in _KEPT_WITH_VALUE | _HOST_SPECIFIC | {_REPLACED, "-p"}
        value = inline if equals else (next(rest, None) if takes_value else None)
        if takes_value and value is None:
            parsed.problems.append(f"command: {name} has no value")
        elif name == "-p" and value is not None:
            _plugin(value, parsed)
        elif name in _KEPT_WITH_VALUE and value is not None:
            parsed.arguments += [name, value]
        elif name in _HOST_SPECIFIC | _HOST_FLAGS | {_REPLACED}:
            continue
        elif _kept_as_is(word):
            parsed.arguments.append(word)
        else:
            parsed.problems.append(
                f"command: {word!r} is not an argument a conformance run is reproduced with (a path under "
                f"{_SUITE_DIRECTORY}/, the suite's options, -n, -k, -m, -p no:…)"
            )
    parsed.arguments += [_REPLACED, IMPLEMENTATION_FILE]
    return parsed


def _kept_as_is(word: str) -> bool:
    """A flag kept (-x, -v, -rA…) or a test path under the suite's directory."""
    if word.startswith("-"):
        return word in _KEPT_FLAGS or (word.startswith("-r") and word[2:].isalpha())
    return _is_suite_path(word)


def _plugin(value: str, parsed: _Parsed) -> None:
    """Only switching a plugin off: `-p NAME` would load code a reviewer has not read."""
    if value.startswith("no:"):
        parsed.arguments += ["-p", value]
    else:
        parsed.problems.append(f"command: '-p {value}' loads a plugin; only '-p no:…' is reproduced")


def _is_suite_path(word: str) -> bool:
    path = PurePosixPath(word.split("::", 1)[0])
    return not path.is_absolute() and ".." not in path.parts and path.parts[:1] == (_SUITE_DIRECTORY,)
