"""`vnode run --in-cluster`: the command line of the in-cluster run (vnode_harness.incluster.runner).

Prints what it does, the suite pod's log as it comes, where the run directory landed and its verdict,
and each permission the suite was refused (named as the ClusterRole rule to add); exits with the
suite's own exit status, 3 when the pod was lost, 2 when the run could not start.
"""

from __future__ import annotations

import argparse
import signal
from pathlib import Path

import yaml
from rich.console import Console

from vnode_harness.formats.paths import REPO_ROOT


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    run = commands.add_parser(
        "run",
        help="run the suite as a Job inside the cluster under test (--in-cluster)",
        description="Run the conformance suite as a Job inside the cluster under test: pytest arguments "
        "after `--` (e.g. `vnode run --in-cluster --kubeconfig K -- -k SCHED`). On a host beside the "
        "cluster, run `tox -e conformance -- --cluster existing --kubeconfig K` instead.",
    )
    run.add_argument(
        "--in-cluster", action="store_true", required=True, help="run the suite inside the cluster"
    )
    run.add_argument("--kubeconfig", required=True, help="your kubeconfig (creates the run's objects only)")
    run.add_argument(
        "--implementation",
        default=str(REPO_ROOT / "implementations" / "reference.yaml"),
        help="the implementation file (default: the reference implementation's)",
    )
    run.add_argument("--image", default=None, help="the suite image (default: vnode/conformance:<version>)")
    run.add_argument(
        "--image-mirror",
        metavar="REGISTRY/PREFIX",
        default=None,
        help="pull the suite image and the test pods' image from this mirror (path, tag kept)",
    )
    run.add_argument(
        "--test-image",
        default=None,
        help="the test pods' image on regular nodes (default: VNODE_TEST_IMAGE, else the suite's)",
    )
    run.add_argument("--memory-limit", default="2Gi", help="the suite pod's memory limit (default 2Gi)")
    run.add_argument("--reports-dir", default=str(REPO_ROOT / "reports"), help="where runs/<run>/ lands")
    run.add_argument("pytest_args", nargs=argparse.REMAINDER, help="-- then pytest arguments for the suite")
    run.set_defaults(handler=run_command)


def run_command(args: argparse.Namespace) -> int:
    import os

    from vnode_harness.incluster.runner import InClusterError, InClusterOptions, run_in_cluster
    from vnode_harness.plumbing.console import make_console
    from vnode_harness.providers.kind.images.suite import SUITE_IMAGE
    from vnode_harness.report.fingerprint import checkout_revision

    console = make_console(stderr=True)
    pytest_args = tuple(args.pytest_args[1:] if args.pytest_args[:1] == ["--"] else args.pytest_args)
    options = InClusterOptions(
        kubeconfig=Path(args.kubeconfig).expanduser(),
        implementation_file=Path(args.implementation),
        image=args.image or SUITE_IMAGE,
        runs_dir=Path(args.reports_dir).resolve() / "runs",
        pytest_args=pytest_args,
        image_mirror=args.image_mirror,
        test_image=args.test_image or os.environ.get("VNODE_TEST_IMAGE"),
        memory_limit=args.memory_limit,
        checkout=checkout_revision(),
    )
    if not options.kubeconfig.is_file():
        console.print(f"[red]error:[/red] kubeconfig {options.kubeconfig} does not exist")
        return 2
    if not options.implementation_file.is_file():
        console.print(f"[red]error:[/red] implementation file {options.implementation_file} does not exist")
        return 2
    # Both as Ctrl-C: the pod ends gracefully, everything is removed. SIGINT too, because a process
    # started in the background of a non-interactive shell (CI) inherits it ignored.
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, _interrupt)
    try:
        outcome = run_in_cluster(options, console)
    except InClusterError as error:
        console.print(f"[red]error:[/red] {error}", highlight=False, soft_wrap=True)
        return 2
    if outcome.run_dir is not None:
        summarize(outcome.run_dir, console)
    return outcome.exit_code


def _interrupt(signum: int, _frame: object) -> None:
    raise KeyboardInterrupt(signal.Signals(signum).name)


def summarize(run_dir: Path, console: Console) -> None:
    """The fetched run's verdict and every permission the suite was refused."""
    report_path = run_dir / "conformance-report.yaml"
    try:
        report = yaml.safe_load(report_path.read_text())
    except (OSError, yaml.YAMLError) as error:
        console.print(f"[yellow]no readable report in {run_dir}: {error}")
        return
    refused = sorted(
        {
            str(test.get("reason") or "")
            for test in report.get("tests", [])
            if "refused the suite" in str(test.get("reason") or "")
        }
    )
    if report.get("aborted") and "refused the suite" in str(report["aborted"]):
        refused.append(str(report["aborted"]))
    for reason in refused:
        console.print(f"[red]RBAC:[/red] {reason}", highlight=False, soft_wrap=True)
    bundle = run_dir / "bundle.tar.gz"
    console.print(
        f"in-cluster run: {report_path} (result: {report.get('result')}); check it with: "
        f"vnode report verify {bundle}",
        highlight=False,
        soft_wrap=True,
    )
