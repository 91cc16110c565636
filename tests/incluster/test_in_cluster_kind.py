"""The suite as a Job inside a kind cluster (`vnode run --in-cluster`) gives the outside run's verdicts,
its bundle verifies, and it leaves nothing behind; a withheld RBAC rule is named, a lost pod (OOM) is
reported broken and cleaned up, a missing suite image is named before anything is created."""

from __future__ import annotations

import dataclasses
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import yaml
from kubernetes import client

from vnode_harness.formats.paths import REPO_ROOT
from vnode_harness.incluster.manifests import PART_OF, RULES
from vnode_harness.plumbing.kube import api_client
from vnode_harness.plumbing.waits import wait_for

TEST_IMAGE = "vnode/nginx:bookworm"  # the kind built set's test pod image, loaded in the worker
SHORT = "test_pod_label_runs_pod_on_virtual_node or test_namespace_label_runs_every_pod_on_virtual_node"


def vnode(*args: object, timeout: float = 1800) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "vnode_harness.cli.main", *map(str, args)]
    result = subprocess.run(
        command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=timeout, check=False
    )
    sys.stdout.write(result.stdout[-20000:])
    sys.stderr.write(result.stderr[-20000:])
    return result


def in_cluster(kubeconfig: Path, reports: Path, *extra: object) -> subprocess.CompletedProcess[str]:
    return vnode(
        "run",
        "--in-cluster",
        "--kubeconfig",
        kubeconfig,
        "--test-image",
        TEST_IMAGE,
        "--reports-dir",
        reports,
        *extra,
    )


def verdicts(report: dict[str, Any]) -> dict[str, str]:
    return {requirement["id"]: requirement["result"] for requirement in report["requirements"]}


def outcomes(report: dict[str, Any]) -> dict[str, str]:
    return {test["nodeid"]: test["outcome"] for test in report["tests"]}


def assert_nothing_left(kubeconfig: Path) -> None:
    with api_client(kubeconfig, "in-cluster check") as api:
        selector = f"app.kubernetes.io/part-of={PART_OF}"
        assert client.CoreV1Api(api).list_namespace(label_selector=selector).items == []
        rbac = client.RbacAuthorizationV1Api(api)
        assert rbac.list_cluster_role(label_selector=selector).items == []
        assert rbac.list_cluster_role_binding(label_selector=selector).items == []


def test_the_in_cluster_run_gives_the_outside_verdicts(kept_kubeconfig, outside_report, tmp_path):
    started = time.monotonic()
    result = in_cluster(kept_kubeconfig, tmp_path)
    elapsed = time.monotonic() - started
    sys.stdout.write(f"\nin-cluster run: {elapsed:.0f} s, exit {result.returncode}\n")
    assert result.returncode == 0, result.stderr[-3000:]
    (run_dir,) = (tmp_path / "runs").iterdir()
    inside = yaml.safe_load((run_dir / "conformance-report.yaml").read_text())
    outside = yaml.safe_load(outside_report.read_text())
    assert inside["fingerprint"]["runner"] == "in-cluster"
    assert outside["fingerprint"]["runner"] == "host"
    assert inside["mode"] == "full"
    assert verdicts(inside) == verdicts(outside)
    assert outcomes(inside) == outcomes(outside)
    assert inside["result"] == outside["result"]
    verified = vnode("report", "verify", run_dir / "bundle.tar.gz", timeout=300)
    assert verified.returncode == 0
    assert ": valid — " in verified.stdout
    assert_nothing_left(kept_kubeconfig)


def test_a_withheld_rule_is_named_not_a_traceback(kept_kubeconfig, tmp_path):
    """Namespaces may not be patched: the test that labels its namespace is broken, naming the rule."""
    from rich.console import Console

    from vnode_harness.incluster.runner import InClusterOptions, run_in_cluster
    from vnode_harness.providers.kind.images.suite import SUITE_IMAGE

    rules = tuple(
        rule
        if rule.resources != ("namespaces",)
        else dataclasses.replace(rule, verbs=tuple(verb for verb in rule.verbs if verb != "patch"))
        for rule in RULES
    )
    options = InClusterOptions(
        kubeconfig=kept_kubeconfig,
        implementation_file=REPO_ROOT / "implementations" / "reference.yaml",
        image=SUITE_IMAGE,
        runs_dir=tmp_path / "runs",
        pytest_args=("-k", "test_labelling_namespace_routes_only_pods_created_afterwards", "-n", "0"),
        test_image=TEST_IMAGE,
        rules=rules,
    )
    outcome = run_in_cluster(options, Console(file=sys.stderr))
    assert outcome.run_dir is not None
    report = yaml.safe_load((outcome.run_dir / "conformance-report.yaml").read_text())
    reasons = [str(test.get("reason")) for test in report["tests"] if test["outcome"] == "broken"]
    reasons.append(str(report.get("aborted")))
    named = 'grant verbs [patch] on resources [namespaces] in apiGroups [""]'
    assert any(named in reason for reason in reasons), reasons
    assert not any("Traceback" in reason for reason in reasons)
    assert_nothing_left(kept_kubeconfig)


def test_an_oom_killed_pod_is_broken_with_the_cause_and_cleaned_up(kept_kubeconfig, tmp_path):
    result = in_cluster(kept_kubeconfig, tmp_path, "--memory-limit", "48Mi", "--", "-k", SHORT)
    assert result.returncode == 3
    assert "broken" in result.stderr
    assert "OOM-killed" in result.stderr
    assert_nothing_left(kept_kubeconfig)


def test_a_missing_suite_image_is_named_before_anything_is_created(kept_kubeconfig, tmp_path):
    result = in_cluster(kept_kubeconfig, tmp_path, "--image", "vnode/conformance:never-built")
    assert result.returncode == 2
    assert "vnode/conformance:never-built is on none of the nodes" in " ".join(result.stderr.split())
    assert "namespace" not in result.stderr  # nothing was created
    assert_nothing_left(kept_kubeconfig)


def test_ctrl_c_while_the_profile_is_changed_restores_it_and_removes_everything(kept_kubeconfig, tmp_path):
    """SIGINT to the runner once the suite has changed the eci-profile (the readiness check's propagation
    probe comes first): the pod ends gracefully, restoring the profile under the still-bound RBAC, the
    partial run is fetched, nothing is left."""
    with api_client(kept_kubeconfig, "in-cluster check") as api:
        core = client.CoreV1Api(api)
        before = core.read_namespaced_config_map("eci-profile", "kube-system").data
        command = [
            sys.executable,
            "-m",
            "vnode_harness.cli.main",
            "run",
            "--in-cluster",
            "--kubeconfig",
            str(kept_kubeconfig),
            "--test-image",
            TEST_IMAGE,
            "--reports-dir",
            str(tmp_path),
            "--",
            "-k",
            "test_parameters",
            "-n",
            "0",
        ]
        runner = subprocess.Popen(
            command, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        try:
            wait_for(
                "the suite to change the eci-profile",
                lambda: (
                    True
                    if core.read_namespaced_config_map("eci-profile", "kube-system").data != before
                    else None,
                    "the profile as found",
                ),
                timeout=300,
                interval=0.5,
            )
            runner.send_signal(signal.SIGINT)
            output, _ = runner.communicate(timeout=600)
        finally:
            if runner.poll() is None:
                runner.kill()
        sys.stdout.write(output[-10000:])
        assert runner.returncode == 130
        assert core.read_namespaced_config_map("eci-profile", "kube-system").data == before
    assert "interrupted" in output
    assert_nothing_left(kept_kubeconfig)
