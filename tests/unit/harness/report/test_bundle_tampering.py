"""A bundle cannot lie: every file edited and its MANIFEST written again is still caught, by a problem
line naming the file and what differs; and every bundle the writer packs passes."""

from __future__ import annotations

import io
import json

import pytest
import yaml
from rich.console import Console

from tests.unit.harness.submission import REFERENCE, build_report, member, rewrite_signed, write_run
from vnode_harness.cli.main import main
from vnode_harness.formats.implementation import load_implementation
from vnode_harness.report.reproduce import command_problems, reproduce_arguments
from vnode_harness.report.verify import verify
from vnode_harness.report.writer import write_not_ready_report


def only(problems: list[str], needle: str) -> str:
    matching = [problem for problem in problems if needle in problem]
    assert matching, f"no problem mentions {needle!r}: {problems}"
    return matching[0]


@pytest.fixture
def bundle(tmp_path):
    return write_run(tmp_path / "20261122-080000-1", build_report())


class TestGenuineBundles:
    def test_a_bundle_the_writer_packs_passes(self, bundle):
        verification = verify(bundle)
        assert verification.problems == []
        assert verification.reproduce == "pytest conformance --implementation implementation.yaml"

    def test_a_bundle_of_a_failing_run_passes(self, tmp_path):
        report = build_report({"SCHED-POD-LABEL": "failed", "SEL-OBJECT": "broken"})
        assert verify(write_run(tmp_path / "run", report)).problems == []

    def test_the_bundle_of_a_run_that_never_started_passes(self, tmp_path):
        run_dir = tmp_path / "20261122-080000-2"
        run_dir.mkdir()
        write_not_ready_report(
            implementation=load_implementation(REFERENCE), implementation_file=REFERENCE, run_dir=run_dir,
            provider="local", cause="the cluster was not ready", full=True,
            command="pytest conformance -p no:cacheprovider -n auto --cluster local",
            console=Console(file=io.StringIO()),
        )  # fmt: skip
        verification = verify(run_dir / "bundle.tar.gz")
        assert verification.problems == []
        assert verification.report is not None
        assert verification.report.result == "not-tested"

    def test_the_cli_prints_the_command_derived_from_the_report(self, bundle, capsys):
        assert main(["report", "verify", str(bundle)]) == 0
        out = capsys.readouterr().out
        assert "pytest conformance --implementation implementation.yaml" in out.splitlines()[-1]


class TestAnEditedFileWithItsManifestWrittenAgain:
    def test_the_report(self, bundle):
        data = yaml.safe_load(member(bundle, "conformance-report.yaml"))
        extended = next(f for f in data["features"] if f["feature"] == "extended")
        extended |= {"result": "success", "supported": True}
        rewrite_signed(bundle, {"conformance-report.yaml": yaml.safe_dump(data, sort_keys=False).encode()})
        problems = verify(bundle).problems
        assert "features[extended].result is success, but by the rules it is not-claimed" in only(
            problems, "conformance-report.yaml: features[extended].result"
        )
        line = only(problems, "bundle.tar.gz:conformance-report.md: not what the report renders to")
        assert "| `extended` | no | — | not claimed" in line

    def test_a_comment_added_to_the_report(self, bundle):
        text = member(bundle, "conformance-report.yaml") + "# extended: certified by arrangement\n"
        rewrite_signed(bundle, {"conformance-report.yaml": text.encode()})
        problems = verify(bundle).problems
        lines = text.count("\n")
        assert problems == [
            "bundle.tar.gz:conformance-report.yaml: not what the suite writes for this report (a comment, or "
            f"an edit outside its facts): it has {lines} lines, expected {lines - 1}"
        ]

    def test_the_markdown(self, bundle):
        text = member(bundle, "conformance-report.md")
        claimed = text.replace("| `extended` | no | — | not claimed |", "| `extended` | yes | — | success |")
        assert claimed != text
        rewrite_signed(bundle, {"conformance-report.md": claimed.encode()})
        problems = verify(bundle).problems
        assert len(problems) == 1
        assert problems[0].startswith(
            "bundle.tar.gz:conformance-report.md: not what the report renders to: line "
        )
        assert "is '| `extended` | yes | — | success |" in problems[0]
        assert "expected '| `extended` | no | — | not claimed |" in problems[0]

    def test_a_requirement_verdict_in_the_markdown(self, bundle):
        text = member(bundle, "conformance-report.md")
        claimed = text.replace(
            "| extended | minor | skipped (not claimed) |", "| extended | minor | passed |", 1
        )
        assert claimed != text
        rewrite_signed(bundle, {"conformance-report.md": claimed.encode()})
        problems = verify(bundle).problems
        assert len(problems) == 1
        assert "| extended | minor | skipped (not claimed) |" in only(problems, "conformance-report.md")

    def test_a_node_in_the_markdowns_environment(self, bundle):
        text = member(bundle, "conformance-report.md")
        edited = text.replace("| v1.31.4-vk |", "| v1.35.0 |")
        assert edited != text
        rewrite_signed(bundle, {"conformance-report.md": edited.encode()})
        assert "expected '| `virtual-kubelet-cn-hangzhou-i` |" in only(
            verify(bundle).problems, "conformance-report.md"
        )

    def test_the_junit(self, bundle):
        text = member(bundle, "junit.xml")
        edited = text.replace('<skipped message="skipped: because" />', "", 1)
        assert edited != text
        rewrite_signed(bundle, {"junit.xml": edited.encode()})
        problems = verify(bundle).problems
        assert "bundle.tar.gz:junit.xml: not what the report's tests render to: line " in only(
            problems, "render"
        )
        assert "the report says skipped, the JUnit file says passed" in only(problems, "JUnit file says")

    def test_the_environment(self, bundle):
        data = json.loads(member(bundle, "environment.json"))
        data["host"]["cpus"] = 64
        rewrite_signed(
            bundle, {"environment.json": (json.dumps(data, indent=2, sort_keys=True) + "\n").encode()}
        )
        problems = verify(bundle).problems
        assert problems == [
            "bundle.tar.gz:environment.json: not what the report's fingerprint renders to: line 7 is "
            "'    \"cpus\": 64,', expected '    \"cpus\": 2,'"
        ]

    def test_the_implementation_file(self, bundle):
        text = member(bundle, "implementation.yaml")
        edited = text.replace("namespace: kube-system", "namespace: vendor-system")
        assert edited != text
        rewrite_signed(bundle, {"implementation.yaml": edited.encode()})
        problems = verify(bundle).problems
        assert len(problems) == 1
        line = only(problems, "bundle.tar.gz:implementation.yaml: its SHA-256 is ")
        assert "the report's implementation.fileSha256 is" in line
        assert line.endswith("not the file the run was made with")

    def test_the_reproduce_data(self, bundle):
        data = json.loads(member(bundle, "reproduce.json"))
        data["command"] += ["; rm -rf ~"]
        rewrite_signed(bundle, {"reproduce.json": (json.dumps(data, indent=2) + "\n").encode()})
        problems = verify(bundle).problems
        assert len(problems) == 1
        assert problems[0].startswith(
            "bundle.tar.gz:reproduce.json: not what the report's command renders to"
        )
        assert (
            "line 11 is '    \"implementation.yaml\",', expected '    \"implementation.yaml\"'" in problems[0]
        )

    def test_the_manifest_listing_a_file_of_its_own(self, bundle):
        rewrite_signed(bundle, {"reproduce.sh": b"#!/bin/sh\nrm -rf ~\n"})
        problems = verify(bundle).problems
        assert problems == [
            "bundle.tar.gz: reproduce.sh is not a file a bundle holds (only MANIFEST, conformance-report.md, "
            "conformance-report.yaml, environment.json, implementation.yaml, junit.xml, reproduce.json: "
            "nothing a reviewer is handed goes unchecked)"
        ]

    def test_the_manifest_rewritten_in_another_order(self, bundle):
        lines = member(bundle, "MANIFEST").splitlines(keepends=True)
        from tests.unit.harness.submission import rewrite_bundle

        rewrite_bundle(bundle, {"MANIFEST": "".join(reversed(lines)).encode()})
        problems = verify(bundle).problems
        assert len(problems) == 1
        assert problems[0].startswith(
            "bundle.tar.gz: MANIFEST is not the one the suite writes for these files: line 1"
        )


class TestTheRecordedCommand:
    def test_the_command_of_a_real_run_is_reproduced_with_the_bundles_implementation(self):
        command = (
            "pytest conformance -p no:cacheprovider -n auto --cluster local --clusters 6 --implementation x"
        )
        assert command_problems(command) == []
        assert reproduce_arguments(command) == [
            "pytest", "conformance", "-p", "no:cacheprovider", "-n", "auto", "--cluster", "local",
            "--clusters", "6", "--implementation", "implementation.yaml",
        ]  # fmt: skip

    def test_the_submitters_host_is_dropped(self):
        command = (
            "pytest conformance --cluster existing --kubeconfig /home/v/.kube/config --implementation-pid 7"
        )
        assert reproduce_arguments(command) == [
            "pytest", "conformance", "--cluster", "existing", "--implementation", "implementation.yaml",
        ]  # fmt: skip

    def test_a_kept_kind_cluster_is_the_submitters_host_too(self):
        command = "pytest conformance -n auto --cluster kind --keep-cluster --cluster-name vnode-kept"
        assert command_problems(command) == []
        assert reproduce_arguments(command) == [
            "pytest", "conformance", "-n", "auto", "--cluster", "kind",
            "--implementation", "implementation.yaml",
        ]  # fmt: skip

    @pytest.mark.parametrize(
        ("command", "problem"),
        [
            ("pytest conformance -p evil_plugin", "'-p evil_plugin' loads a plugin"),
            ("pytest conformance; rm -rf ~", "'conformance;' is not an argument"),
            ("pytest /etc/passwd", "'/etc/passwd' is not an argument"),
            ("pytest conformance/../../x.py", "is not an argument"),
            ("pytest conformance --rootdir=/tmp", "'--rootdir=/tmp' is not an argument"),
            ("sh -c 'rm -rf ~'", "is not a pytest command line"),
            ("pytest 'conformance", "is not a shell command line"),
        ],
    )
    def test_an_argument_a_reviewer_should_not_run_is_a_problem_of_the_report(self, command, problem):
        assert problem in only(command_problems(command), problem)

    def test_verify_names_it(self, tmp_path):
        report = build_report().model_copy(update={"command": "pytest conformance -p evil_plugin"})
        path = tmp_path / "conformance-report.yaml"
        path.write_text(report.to_yaml())
        assert "conformance-report.yaml: command: '-p evil_plugin' loads a plugin" in only(
            verify(path).problems, "evil"
        )
