"""`vnode report verify`: a real report passes; each kind of tampering or bad input is named, one line
each, and never raises."""

from __future__ import annotations

import io
import tarfile

import pytest

from tests.unit.harness.submission import (
    build_report,
    dump,
    junit_xml,
    nodeid_for,
    report_data,
    rewrite_bundle,
    write_run,
)
from vnode_harness.cli.main import main
from vnode_harness.report.verify import http_url_problem, is_contact, verify


def only(problems: list[str], needle: str) -> str:
    matching = [problem for problem in problems if needle in problem]
    assert matching, f"no problem mentions {needle!r}: {problems}"
    return matching[0]


@pytest.fixture
def report():
    return build_report()


@pytest.fixture
def bundle(tmp_path, report):
    return write_run(tmp_path / "20261122-080000-1", report)


def write_report(tmp_path, data, name="conformance-report.yaml"):
    path = tmp_path / name
    path.write_text(dump(data) if isinstance(data, dict) else data)
    return path


class TestAValidSubmission:
    def test_the_report_of_a_run_is_valid(self, tmp_path, report):
        verification = verify(write_report(tmp_path, report_data(report)))
        assert verification.problems == []
        assert any("JUnit not checked" in note for note in verification.notes)

    def test_its_bundle_is_valid_with_the_junit_checked(self, bundle):
        verification = verify(bundle)
        assert verification.problems == []
        assert verification.notes == []

    def test_a_run_directory_verifies_its_bundle(self, bundle):
        assert verify(bundle.parent).problems == []

    def test_the_cli_exits_0_and_says_valid(self, bundle, capsys):
        assert main(["report", "verify", str(bundle)]) == 0
        assert "valid — eci-reference 0.1.0, result success (full run" in capsys.readouterr().out

    def test_a_report_of_an_older_suite_calling_an_undeclared_feature_partial_still_verifies(self, tmp_path):
        data = report_data(build_report())
        extended = next(f for f in data["features"] if f["feature"] == "extended")
        assert extended["result"] == "not-claimed"
        extended["result"] = "partial"
        assert verify(write_report(tmp_path, data)).problems == []
        extended["result"] = "success"
        assert "features[extended].result is success, but by the rules it is not-claimed" in only(
            verify(write_report(tmp_path, data)).problems, "features[extended]"
        )

    def test_a_report_with_failures_is_still_a_valid_report(self, tmp_path):
        failing = build_report({"SCHED-POD-LABEL": "failed", "SEL-OBJECT": "broken"})
        assert failing.result == "failure"
        assert verify(write_run(tmp_path / "run", failing)).problems == []


class TestTheDoneWhenList:
    def test_an_edited_count(self, tmp_path, report):
        data = report_data(report)
        data["totals"]["passed"] += 1
        data["features"][0]["passed"] -= 1
        problems = verify(write_report(tmp_path, data)).problems
        assert "totals.passed is 36, but 35 of the listed tests passed" in only(problems, "totals.passed")
        assert "features[core-scheduling].passed" in only(problems, "features[core-scheduling].passed")

    def test_a_feature_marked_success_with_a_skipped_requirement(self, tmp_path):
        requirement = _first_of("hot-updates")
        data = report_data(build_report({requirement: "skipped"}))
        feature = next(f for f in data["features"] if f["feature"] == "hot-updates")
        assert feature["result"] == "partial"
        feature["result"] = "success"
        feature["skippedRequirements"] = []
        data["result"] = "success"
        problems = verify(write_report(tmp_path, data)).problems
        line = only(problems, "features[hot-updates].result")
        assert "is success, but by the rules it is partial" in line
        assert f"{requirement} skipped (a skipped requirement never certifies a feature)" in line
        only(problems, "features[hot-updates].skippedRequirements")
        assert "result is success, but by the rules it is partial" in only(problems, ": result is")

    def test_a_removed_junit_case(self, tmp_path, report):
        removed = nodeid_for("SCHED-POD-LABEL")
        path = write_report(tmp_path, report.to_yaml())
        (tmp_path / "junit.xml").write_text(junit_xml(report, drop=removed))
        problems = verify(path).problems
        assert only(problems, "no test case for").endswith(
            f"no test case for {removed} (the report says passed)"
        )

    def test_an_altered_bundle_file(self, bundle):
        rewrite_bundle(bundle, {"conformance-report.md": b"# a better result\n"})
        problems = verify(bundle).problems
        assert "conformance-report.md was altered: its SHA-256 is" in only(problems, "altered")

    def test_an_unknown_requirement(self, tmp_path, report):
        data = report_data(report)
        data["tests"][0]["requirements"] = ["SCHED-POD-LABLE"]
        problems = verify(write_report(tmp_path, data)).problems
        line = only(problems, "unknown requirement id 'SCHED-POD-LABLE'")
        assert "did you mean SCHED-POD-LABEL" in line


class TestOtherTampering:
    def test_a_requirement_result_that_its_tests_do_not_give(self, tmp_path):
        data = report_data(build_report({"SCHED-POD-LABEL": "failed"}))
        data["requirements"][0]["result"] = "passed"
        problems = verify(write_report(tmp_path, data)).problems
        assert "requirements[SCHED-POD-LABEL].result is passed, but its tests say failed" in only(
            problems, "requirements[SCHED-POD-LABEL].result"
        )

    def test_a_junit_outcome_that_differs(self, tmp_path):
        failing = build_report({"SCHED-POD-LABEL": "failed"})
        path = write_report(tmp_path, failing.to_yaml())
        junit = tmp_path / "pytest-junit.xml"
        junit.write_text(junit_xml(build_report()))
        problems = verify(path, junit=junit).problems
        assert "the report says failed, the JUnit file says passed" in only(problems, "JUnit file says")

    def test_a_file_missing_from_the_bundle(self, bundle):
        rewrite_bundle(bundle, {"junit.xml": None})
        problems = verify(bundle).problems
        assert "junit.xml is listed in MANIFEST but missing from the bundle" in only(problems, "missing")

    def test_a_file_added_to_the_bundle(self, bundle):
        members = []
        with tarfile.open(bundle, "r:gz") as archive:
            for member in archive.getmembers():
                extracted = archive.extractfile(member)
                assert extracted is not None, f"{member.name} is not a file"
                members.append((member, extracted.read()))
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w:gz") as out:
            for member, content in members:
                out.addfile(member, io.BytesIO(content))
            extra = tarfile.TarInfo(f"{members[0][0].name.split('/')[0]}/notes.txt")
            extra.size = 2
            out.addfile(extra, io.BytesIO(b"hi"))
        bundle.write_bytes(buffer.getvalue())
        assert "notes.txt is in the bundle but not in MANIFEST" in only(verify(bundle).problems, "notes.txt")

    def test_an_older_catalogue(self, tmp_path, report):
        data = report_data(report)
        data["catalogueDigest"] = "0" * 64
        removed = data["requirements"].pop()
        data["tests"] = [t for t in data["tests"] if removed["id"] not in t["requirements"]]
        problems = verify(write_report(tmp_path, data)).problems
        assert "is not the digest of this suite's catalogue" in only(problems, "catalogueDigest")
        assert f"{removed['id']} of this suite's catalogue is missing" in only(problems, removed["id"])

    def test_a_report_of_an_older_suite_without_a_digest(self, tmp_path, report):
        data = report_data(report)
        del data["catalogueDigest"]
        data["suiteVersion"] = "0.0.9"
        problems = verify(write_report(tmp_path, data)).problems
        only(problems, "catalogueDigest is missing")
        only(problems, "suiteVersion 0.0.9 is not this suite's version")

    def test_an_undeclared_mandatory_feature(self, tmp_path, report):
        data = report_data(report)
        data["implementation"]["declaredFeatures"].remove("core-scheduling")
        problems = verify(write_report(tmp_path, data)).problems
        only(problems, "implementation.declaredFeatures lacks core-scheduling")
        only(
            problems,
            "features[core-scheduling].supported is true, but the implementation does not declare it",
        )

    def test_ill_formed_metadata(self, tmp_path, report):
        data = report_data(report)
        data["implementation"]["url"] = "www.acme.example"
        data["implementation"]["contact"] = "the team"
        data["implementation"]["organization"] = " "
        problems = verify(write_report(tmp_path, data)).problems
        only(problems, "implementation.url 'www.acme.example' is not an http:// or https:// URL")
        only(problems, "implementation.contact 'the team' is neither an e-mail address nor an http(s) URL")
        only(problems, "implementation.organization is empty")

    def test_a_bundle_whose_implementation_file_differs_from_the_report(self, bundle):
        text = (bundle.parent / "conformance-report.yaml").read_text()
        data = dump(report_data(build_report()))
        assert text == data
        reference = bundle.parent.parent / "other.yaml"
        from tests.unit.harness.submission import REFERENCE

        reference.write_text(REFERENCE.read_text().replace("version: 0.1.0", "version: 0.2.0"))
        rewrite_bundle(bundle, {"implementation.yaml": reference.read_bytes()})
        problems = verify(bundle).problems
        only(problems, "implementation.yaml was altered")
        only(problems, "metadata.version is '0.2.0', the report says '0.1.0'")


class TestBadInput:
    @pytest.mark.parametrize(
        ("content", "expected"),
        [
            ("", "is empty (no YAML document in it)"),
            ("- a\n- b\n", "must be a YAML mapping at the top level, not a list"),
            ("a: [1, 2\n", "is not valid YAML"),
            (
                "kind: Implementation\napiVersion: conformance.vnode.dev/v1alpha1\n",
                "not a conformance report",
            ),
            (
                "kind: ConformanceReport\napiVersion: conformance.vnode.dev/v9\n",
                "apiVersion 'conformance.vnode.dev/v9'",
            ),
        ],
    )
    def test_foreign_or_broken_yaml_is_named(self, tmp_path, content, expected):
        problems = verify(write_report(tmp_path, content)).problems
        only(problems, expected)

    def test_a_truncated_report(self, tmp_path, report):
        text = dump(report_data(report))
        problems = verify(write_report(tmp_path, text[: len(text) // 2])).problems
        assert all(problem.startswith(f"{tmp_path}/conformance-report.yaml: ") for problem in problems)
        only(problems, "it looks truncated")

    def test_a_report_cut_at_a_line_end(self, tmp_path, report):
        text = dump(report_data(report))
        cut = text[: text.index("\ntests:") + 1]
        problems = verify(write_report(tmp_path, cut)).problems
        assert problems == [
            f"{tmp_path}/conformance-report.yaml: schema: tests: required field is missing",
            f"{tmp_path}/conformance-report.yaml: schema: command: required field is missing",
        ]

    def test_a_hand_edited_field_of_the_wrong_type(self, tmp_path, report):
        data = report_data(report)
        data["totals"]["passed"] = "many"
        problems = verify(write_report(tmp_path, data)).problems
        only(problems, "schema: totals.passed: Input should be a valid integer")

    def test_a_truncated_bundle(self, bundle):
        data = bundle.read_bytes()
        bundle.write_bytes(data[: len(data) // 2])
        problems = verify(bundle).problems
        only(problems, "not a readable .tar.gz bundle")

    def test_binary_that_is_not_a_bundle(self, tmp_path):
        path = tmp_path / "report.yaml"
        path.write_bytes(b"\x00\xff\xfe")
        only(verify(path).problems, "not UTF-8 text")

    def test_a_missing_file(self, tmp_path):
        only(verify(tmp_path / "nothing.yaml").problems, "cannot read it")

    def test_the_cli_prints_each_problem_on_a_line_and_exits_1(self, tmp_path, report, capsys):
        data = report_data(report)
        data["totals"]["passed"] += 1
        data["tests"][0]["requirements"] = ["NOPE-NOPE"]
        assert main(["report", "verify", str(write_report(tmp_path, data))]) == 1
        lines = capsys.readouterr().out.splitlines()
        assert len(lines) >= 2
        assert all(line.startswith(str(tmp_path)) for line in lines)


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("https://acme.example/vnode", True),
        ("http://acme.example:8080/x", True),
        ("ftp://acme.example", False),
        ("https://", False),
        ("https://localhost/x", False),
        ("https://acme.example:99999", False),
        ("https://acme example", False),
    ],
)
def test_urls(url, ok):
    assert (http_url_problem(url) is None) is ok


@pytest.mark.parametrize(
    ("contact", "ok"),
    [
        ("vnode@acme.example", True),
        ("Acme VNode team <vnode@acme.example>", True),
        ("mailto:vnode@acme.example", True),
        ("https://acme.example/support", True),
        ("maintainers of acme", False),
        ("vnode@localhost", False),
        ("", False),
    ],
)
def test_contacts(contact, ok):
    assert is_contact(contact) is ok


def _first_of(feature: str) -> str:
    from vnode_harness.formats.catalogue import load_catalogue

    return load_catalogue().requirements_for_feature(feature)[0].id
