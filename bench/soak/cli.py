"""`bench/run.py soak --cluster local|kind --runs N [--cpu-contention]`: the soak's command line and loop."""

from __future__ import annotations

import argparse
import os
import shlex
import time
import uuid
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kubernetes import client
from rich.console import Console

from vnode_harness.plumbing.console import make_console
from vnode_harness.plumbing.kube import api_client

from . import summary
from .cluster_state import leftovers, objects, profile_differences, profile_snapshot
from .clusters import kind_target, local_target
from .heavy_lock import HeavyLock
from .host_processes import BusyLoops, become_subreaper, descendants, marked
from .suite_run import Target, run_suite


def parse(argv: list[str]) -> tuple[argparse.Namespace, list[str]]:
    parser = argparse.ArgumentParser(
        prog="bench/run.py soak",
        description="Full conformance runs, one after another, against one cluster; after each: the "
        "verdict of every test, the eci-profile byte for byte, objects and host processes left behind. "
        "Arguments after `--` go to every pytest run.",
    )
    parser.add_argument("--cluster", choices=("local", "kind"), default="local")
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--cpu-contention", action="store_true", help="a busy loop per core during each run")
    parser.add_argument("--workers", default="auto", help="pytest-xdist -n of each run (default: auto)")
    parser.add_argument(
        "--lock",
        type=Path,
        default=os.environ.get("VNODE_HEAVY_LOCK") or None,
        help="flock this file for the cluster start and for each run, not between runs "
        "(default: $VNODE_HEAVY_LOCK; unset: no lock)",
    )
    parser.add_argument(
        "--max-minutes", type=float, default=None, help="start no further run after this many minutes"
    )
    parser.add_argument(
        "--settle-seconds",
        type=float,
        default=120,
        help="how long objects still being deleted when a run ends may take to go",
    )
    parser.add_argument("--implementation", type=Path, default=Path("implementations/reference.yaml"))
    argv = list(argv)
    extra = argv[argv.index("--") + 1 :] if "--" in argv else []
    ours = argv[: argv.index("--")] if "--" in argv else argv
    return parser.parse_args(ours), extra


def main(argv: list[str], *, repo: Path, results: Path) -> int:
    args, extra = parse(argv)
    console = make_console(stderr=True)
    become_subreaper()
    stamp = time.strftime("%Y%m%d-%H%M%S")
    out_dir = results / f"soak-{stamp}"
    json_path = results / f"soak-{stamp}.json"
    lock = HeavyLock(args.lock)
    implementation = (repo / args.implementation).resolve()
    soak = summary.Soak(
        provider=args.cluster,
        requested_runs=args.runs,
        contention=args.cpu_contention,
        command=shlex.join(["python", "bench/run.py", "soak", *argv]),
    )
    target_cm: AbstractContextManager[Target] = (
        local_target(implementation, out_dir / "cluster", lock, console)
        if args.cluster == "local"
        else kind_target(implementation, repo, out_dir / "cluster", lock, console)
    )
    deadline = time.monotonic() + args.max_minutes * 60 if args.max_minutes is not None else None
    with target_cm as target:
        with api_client(target.kubeconfig, "soak") as api:
            baseline = profile_snapshot(client.CoreV1Api(api))
        runner = Runner(target, args, extra, lock, repo, out_dir, console, baseline)
        for number in range(1, args.runs + 1):
            if deadline is not None and time.monotonic() > deadline:
                soak.stopped = f"time budget of {args.max_minutes:g} min reached"
                break
            record = runner.run(number)
            soak.runs.append(record)
            summary.write(soak, json_path)
            console.print(
                f"run {number}/{args.runs}: {record.seconds:.1f} s, {record.result}, profile "
                f"{'identical' if not record.profile_differences else record.profile_differences}, "
                f"objects left {len(record.leftovers.labelled) + len(record.leftovers.new)}, "
                f"processes left {len(record.leaked_processes)}",
                highlight=False,
            )
    summary.write(soak, json_path)
    summary.print_table(soak, make_console())  # a log file: each run on one line
    print(f"soak summary: {json_path}")
    return 0


@dataclass
class Runner:
    """Runs the suite once and checks what it left; `baseline` is the profile before the first run."""

    target: Target
    args: argparse.Namespace
    extra: list[str]
    lock: HeavyLock
    repo: Path
    out_dir: Path
    console: Console
    baseline: dict[str, Any]

    def run(self, number: int) -> summary.RunRecord:
        marker = f"{uuid.uuid4().hex[:8]}-{number}"
        with api_client(self.target.kubeconfig, "soak") as api:
            core = client.CoreV1Api(api)
            with self.lock:
                self.console.print(
                    f"run {number}: lock taken after {self.lock.waited_seconds:.0f} s", highlight=False
                )
                profile = profile_snapshot(core)
                before = objects(api)
                processes = descendants()
                with BusyLoops(self.args.cpu_contention):
                    run = run_suite(
                        self.target,
                        self.repo,
                        self.out_dir / f"run-{number:02d}",
                        marker=marker,
                        workers=self.args.workers,
                        extra=self.extra,
                    )
            left = leftovers(api, run.run_id, before, self.args.settle_seconds)
            # after the settle wait: a process still exiting when pytest returned is not left behind
            leaked = (descendants() - processes) | marked(marker)
            after = profile_snapshot(core)
        return summary.RunRecord(
            number=number,
            contention=self.args.cpu_contention,
            lock_wait_seconds=self.lock.waited_seconds,
            seconds=run.seconds,
            exit_code=run.exit_code,
            result=run.result,
            run_id=run.run_id,
            verdicts=run.verdicts,
            profile_differences=profile_differences(profile, after),
            profile_drift=profile_differences(self.baseline, after),
            leftovers=left,
            leaked_processes=sorted(str(process) for process in leaked),
            log=str(run.log.relative_to(self.repo) if run.log.is_relative_to(self.repo) else run.log),
        )
