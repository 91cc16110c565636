"""Benchmarks (`tox -e bench -- [NAME …]`): print figures, assert nothing.

    warm-start   local cluster from nothing to every node Ready and istiod injecting; RSS of the cluster
    admission    reference webhook latency over real HTTPS at a steady request rate, 10-selector profile
    e2e-pods     500 ECI-labelled pods until all Running on virtual nodes, vs 500 pods pinned there
    suite        full conformance suite wall time, -n 0 against -n auto (includes cluster start)
    reliability  ten full runs against one long-lived cluster: flakes, eci-profile bytes, leftovers
    cold-build   every upstream binary built from scratch in an empty cache (slow: minutes)
    kind-images  `vnode kind images` with nothing changed, then from nothing (every image removed; the Go
                 builds stay cached); disk used by the images (needs Docker)
    kind-create  `kind create cluster` with the built node image until every kind node is Ready, 3 times
    mutation     the whole mutation matrix (every mutant and variant, tests/mutation): kill rate, time
    generative   the generated routing cases (GEN-ROUTING-EFFECTS) alone on a local cluster: pods per second
    soak         `soak --cluster local|kind --runs N [--cpu-contention]`: N full runs against one cluster,
                 each checked: per-test verdicts, eci-profile bytes, objects and processes left (bench/soak)
    faults       `faults [--points N] [--seed S] [-k EXPR]`: the fault scenarios of tests/faults with N seeded
                 SIGINT/SIGTERM points (default 20): outcome and seconds per scenario (bench/faults.py)
    fuzz         `fuzz [--examples N] [--seed S]`: the fuzz tests of tests/fuzz with N examples each from a
                 fresh seed: examples and failures per target (bench/fuzz.py)

Figures are printed and written to reports/bench/<name>-<timestamp>.json. Goals (from the issues) are
printed beside the figures for reading, never enforced: a benchmark is not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import ssl
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "reports" / "bench"


def rss_mib(pids: list[int]) -> float:
    """Resident memory of the given processes and all their descendants, in MiB."""
    seen: set[int] = set()
    todo = list(pids)
    total_kib = 0
    while todo:
        pid = todo.pop()
        if pid in seen:
            continue
        seen.add(pid)
        try:
            status = Path(f"/proc/{pid}/status").read_text()
            children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                total_kib += int(line.split()[1])
        todo.extend(int(child) for child in children)
    return total_kib / 1024


def cluster_pids(directory: Path) -> list[int]:
    pids = [int(p.read_text()) for p in directory.glob("kwok/clusters/*/pids/*.pid")]
    pids += [json.loads(p.read_text())["pid"] for p in (directory / "pids").glob("*.json")]
    return pids


def bench_warm_start() -> dict[str, Any]:
    from rich.console import Console

    from vnode_harness.providers.local.cluster import LocalCluster
    from vnode_harness.toolchain import resolve_toolchain

    resolve_toolchain(console=Console(stderr=True))  # binaries built beforehand: this is the warm start
    cluster = LocalCluster(logs_dir=RESULTS / "warm-start-logs", console=Console(stderr=True, quiet=True))
    started = time.monotonic()
    try:
        cluster.up()
        seconds = time.monotonic() - started
        memory = rss_mib(cluster_pids(cluster.directory))
    finally:
        cluster.down()
    return {
        "warm_start_seconds": round(seconds, 1),
        "cluster_rss_mib": round(memory),
        "goal": "≤ 20 s, ≤ 2048 MiB",
    }


def _review(index: int) -> bytes:
    from eci_reference.admission_requests import admission_review

    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "generateName": "bench-",
            "namespace": "bench",
            "labels": {"app": f"a{index % 7}", "tier": "web"},
        },
        "spec": {"containers": [{"name": "c", "image": "nginx"}]},
    }
    return json.dumps(admission_review(pod, namespace="bench", uid=f"uid-{index}")).encode()


def bench_admission(rate: int = 500, seconds: float = 10.0) -> dict[str, Any]:
    """Serve the reference admission app (one process = one core for the server) and drive it from another."""
    with tempfile.TemporaryDirectory() as tmp:
        port_file = Path(tmp) / "port"
        server = subprocess.Popen([sys.executable, __file__, "_admission-server", str(port_file), tmp])
        try:
            while not port_file.exists():
                if server.poll() is not None:
                    raise RuntimeError("admission server exited")
                time.sleep(0.05)
            port = int(port_file.read_text())
            os.sched_setaffinity(0, {1 % (os.cpu_count() or 1)})  # the load generator on the other core
            latencies = asyncio.run(_drive(port, rate, seconds))
        finally:
            server.terminate()
            server.wait()
    latencies.sort()

    def pct(p: float) -> float:
        return round(latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000, 2)

    return {
        "requests": len(latencies),
        "rate_per_second": rate,
        "p50_ms": pct(0.5),
        "p99_ms": pct(0.99),
        "max_ms": round(latencies[-1] * 1000, 2),
        "selectors": 10,
        "goal": "p99 ≤ 5 ms at 500 req/s",
    }


async def _drive(port: int, rate: int, seconds: float) -> list[float]:
    import aiohttp

    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    latencies: list[float] = []
    connector = aiohttp.TCPConnector(ssl=context, limit=64)
    async with aiohttp.ClientSession(connector=connector) as session:
        url = f"https://127.0.0.1:{port}/mutate"
        for warm in range(50):
            async with session.post(
                url, data=_review(warm), headers={"Content-Type": "application/json"}
            ) as r:
                await r.read()

        async def one(index: int) -> None:
            begin = time.perf_counter()
            async with session.post(
                url, data=_review(index), headers={"Content-Type": "application/json"}
            ) as r:
                await r.read()
                if r.status != 200:
                    raise RuntimeError(f"HTTP {r.status}")
            latencies.append(time.perf_counter() - begin)

        tasks = []
        start = time.perf_counter()
        total = int(rate * seconds)
        for index in range(total):
            delay = start + index / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(index)))
        await asyncio.gather(*tasks)
    return latencies


def _admission_server(port_file: str, workdir: str) -> None:
    """Child process: the reference admission app over TLS with a 10-selector profile and fixed namespaces."""
    import socket

    from aiohttp import web

    from eci_reference.admission import build_admission_app
    from eci_reference.certs import ServingNames, ensure_serving_certificate
    from eci_reference.profile import DEFAULT_PROFILE_DATA, parse_profile

    selectors = [
        {
            "name": f"s{i}",
            "objectSelector": {"matchLabels": {"app": f"a{i}", "tier": "web"}},
            "effect": {"annotations": {f"example.com/s{i}": "yes"}},
        }
        for i in range(10)
    ]
    profile = parse_profile({**DEFAULT_PROFILE_DATA, "selectors": json.dumps(selectors)})

    class Context:
        def active_profile(self) -> Any:
            return profile

        async def namespace_labels(self, name: str) -> dict[str, str]:
            return {"kubernetes.io/metadata.name": name}

    os.sched_setaffinity(0, {0})  # one core for the server
    certificate = ensure_serving_certificate(Path(workdir), ServingNames.for_host("127.0.0.1"))
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    Path(port_file + ".tmp").write_text(str(sock.getsockname()[1]))
    os.rename(port_file + ".tmp", port_file)
    logging_off()
    web.run_app(
        build_admission_app(Context()),
        sock=sock,
        ssl_context=certificate.ssl_context(),
        print=None,
        access_log=None,
    )


def logging_off() -> None:
    import logging

    logging.getLogger("eci_reference").setLevel(logging.WARNING)


def bench_e2e_pods(count: int = 500) -> dict[str, Any]:
    """500 ECI-labelled pods (webhook path) vs 500 pinned pods (no webhook), on one local cluster."""
    from kubernetes import client
    from rich.console import Console

    from vnode_harness.formats.implementation import load_implementation
    from vnode_harness.plumbing.kube import api_client
    from vnode_harness.providers.local.cluster import LocalCluster
    from vnode_harness.providers.local.implementation import start_local_implementation

    console = Console(stderr=True, quiet=True)
    cluster = LocalCluster(logs_dir=RESULTS / "e2e-logs", console=console, with_istio=False)
    handle = cluster.up()
    work = Path(tempfile.mkdtemp())
    implementation = load_implementation(REPO / "implementations" / "reference.yaml")
    started = start_local_implementation(implementation, handle, work)
    try:
        core = client.CoreV1Api(api_client(handle.kubeconfig, "bench"))
        rest_mib = rss_mib([started.process.pid])
        results = {}
        for mode in ("pinned", "webhook"):
            namespace = f"bench-{mode}"
            core.create_namespace({"metadata": {"name": namespace}})
            while not core.list_namespaced_service_account(namespace).items:
                time.sleep(0.1)
            results[mode] = _create_and_wait(core, namespace, count, mode)
        after_mib = rss_mib([started.process.pid])
    finally:
        started.stop()
        cluster.down()
    return {
        "pods": count,
        "pinned_seconds": results["pinned"],
        "webhook_seconds": results["webhook"],
        "ratio": round(results["webhook"] / results["pinned"], 2),
        "goal": "ratio ≤ 1.2",
        "implementation_rss_rest_mib": round(rest_mib),
        "implementation_rss_after_mib": round(after_mib),
    }


def _create_and_wait(core: Any, namespace: str, count: int, mode: str) -> float:
    from concurrent.futures import ThreadPoolExecutor

    from vnode_harness.formats.names import ECI_LABEL
    from vnode_harness.providers.topology import node_names

    virtual_nodes = node_names()

    def manifest(i: int) -> dict[str, Any]:
        spec: dict[str, Any] = {"containers": [{"name": "c", "image": "nginx"}]}
        labels = {}
        if mode == "pinned":
            spec["nodeName"] = virtual_nodes[i % len(virtual_nodes)]
            spec["tolerations"] = [{"key": "virtual-kubelet.io/provider", "operator": "Exists"}]
        else:
            labels = {ECI_LABEL: "true"}
        return {"metadata": {"name": f"p{i}", "labels": labels}, "spec": spec}

    start = time.monotonic()
    with ThreadPoolExecutor(max_workers=16) as pool:
        list(pool.map(lambda i: core.create_namespaced_pod(namespace, manifest(i)), range(count)))
    while True:
        pods = core.list_namespaced_pod(namespace).items
        if sum(1 for p in pods if p.status.phase == "Running") == count:
            return round(time.monotonic() - start, 1)
        time.sleep(0.2)


def bench_suite() -> dict[str, Any]:
    figures: dict[str, float | str] = {}
    for workers in ("0", "auto"):
        start = time.monotonic()
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest",
                "conformance",
                "-q",
                "-p",
                "no:cacheprovider",
                "-n",
                workers,
                "--cluster",
                "local",
            ],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=False,
        )
        figures[f"n_{workers}_seconds"] = round(time.monotonic() - start, 1)
        figures[f"n_{workers}_summary"] = result.stdout.strip().splitlines()[-1] if result.stdout else "?"
    figures["goal"] = "≤ 120 s including cluster start"
    return figures


def _timed_suite(*arguments: str) -> tuple[float, str]:
    """Seconds of one whole `pytest conformance` run on local clusters, and its closing line."""
    start = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "conformance", "-q", "-p", "no:cacheprovider", "--cluster", "local",
         *arguments],
        cwd=REPO, capture_output=True, text=True, check=False,
    )  # fmt: skip
    closing = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else "?"
    return round(time.monotonic() - start, 1), closing


def bench_scaling(largest: int = 4) -> dict[str, Any]:
    """The whole suite on N = 1 … `largest` local clusters (one worker each), and the fit
    seconds ≈ a + b / N: `a` is what no shard shortens (cluster start, the longest test, the end),
    `b` the work the shards share, so a machine with more cores can read off what it will take."""
    seconds: dict[int, float] = {}
    figures: dict[str, Any] = {}
    for count in range(1, largest + 1):
        workers = "0" if count == 1 else str(count)
        seconds[count], closing = _timed_suite("-n", workers, "--clusters", str(count))
        figures[f"clusters_{count}_seconds"] = seconds[count]
        figures[f"clusters_{count}_summary"] = closing
    xs = [1 / count for count in seconds]
    ys = list(seconds.values())
    mean_x, mean_y = sum(xs) / len(xs), sum(ys) / len(ys)
    slope = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / sum(
        (x - mean_x) ** 2 for x in xs
    )
    figures["fit"] = f"seconds = {mean_y - slope * mean_x:.0f} + {slope:.0f} / N"
    return figures


def bench_reliability(runs: int = 10) -> dict[str, Any]:
    """`runs` full suite runs against one long-lived cluster (as a vendor's cluster would be): every run's
    result, and after each, the eci-profile compared byte for byte and leftovers counted."""
    from kubernetes import client
    from rich.console import Console

    from vnode_harness.formats.implementation import load_implementation
    from vnode_harness.plumbing.kube import api_client
    from vnode_harness.providers.local.cluster import LocalCluster
    from vnode_harness.providers.local.implementation import start_local_implementation
    from vnode_harness.testapi.workloads import RUN_LABEL

    console = Console(stderr=True, quiet=True)
    cluster = LocalCluster(logs_dir=RESULTS / "reliability-logs", console=console)
    handle = cluster.up()
    work = Path(tempfile.mkdtemp())
    started = start_local_implementation(
        load_implementation(REPO / "implementations" / "reference.yaml"), handle, work
    )
    core = client.CoreV1Api(api_client(handle.kubeconfig, "bench"))
    try:
        baseline = core.read_namespaced_config_map("eci-profile", "kube-system").data
        summaries, profile_changed, leftovers = [], 0, 0
        for _ in range(runs):
            result = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "pytest",
                    "conformance",
                    "-q",
                    "-p",
                    "no:cacheprovider",
                    "-n",
                    "auto",
                    "--cluster",
                    "existing",
                    "--kubeconfig",
                    str(handle.kubeconfig),
                    "--implementation-pid",
                    str(started.process.pid),
                ],
                cwd=REPO,
                capture_output=True,
                text=True,
                check=False,
            )
            summaries.append(
                result.stdout.strip().splitlines()[-1] if result.stdout else result.stderr[-300:]
            )
            profile_changed += core.read_namespaced_config_map("eci-profile", "kube-system").data != baseline
            deadline = time.monotonic() + 120
            while core.list_namespace(label_selector=RUN_LABEL).items and time.monotonic() < deadline:
                time.sleep(0.5)
            leftovers += len(core.list_namespace(label_selector=RUN_LABEL).items)
    finally:
        started.stop()
        cluster.down()
    return {
        "runs": runs,
        "distinct_results": sorted(set(summaries)),
        "profile_changed_runs": profile_changed,
        "leftover_test_namespaces": leftovers,
        "goal": "one result, profile unchanged, nothing left",
    }


def bench_cold_build() -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as cache, tempfile.TemporaryDirectory() as gocache:
        env = {**os.environ, "VNODE_CACHE_DIR": cache, "GOCACHE": gocache, "VNODE_BIN_DIR": ""}
        start = time.monotonic()
        subprocess.run(
            [sys.executable, "-m", "vnode_harness.cli.main", "toolchain", "build"], env=env, check=True
        )
        return {
            "cold_build_seconds": round(time.monotonic() - start),
            "note": "Go module cache kept, build cache empty",
        }


def _vnode(*arguments: str) -> float:
    start = time.monotonic()
    subprocess.run([sys.executable, "-m", "vnode_harness.cli.main", *arguments], cwd=REPO, check=True)
    return round(time.monotonic() - start, 1)


def _docker_images_bytes(names: list[str]) -> int:
    output = subprocess.run(
        ["docker", "image", "inspect", "--format", "{{.Size}}", *names],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return sum(int(line) for line in output.split())


def bench_kind_images() -> dict[str, Any]:
    """Warm (nothing changed) and cold (every image and stamp removed; Go builds cached) image builds."""
    from vnode_harness.providers.kind.images.engine import stamp_dir
    from vnode_harness.providers.kind.images.plan import build_image_set

    warm = _vnode("kind", "images")
    images = list(build_image_set().image_ids)
    size = _docker_images_bytes(images)
    subprocess.run(["docker", "image", "rm", "-f", *images], capture_output=True, check=False)
    for stamp in stamp_dir().glob("*.json"):
        stamp.unlink()
    cold = _vnode("kind", "images")
    return {
        "warm_seconds": warm,
        "cold_seconds": cold,
        "images": len(images),
        "images_gib": round(size / 2**30, 2),
        "goal": "cold ≤ 12 min, warm ≤ 10 s",
    }


def bench_kind_create(runs: int = 3) -> dict[str, Any]:
    """`kind create cluster` (the provider's generated config, the built node image) until every kind node
    is Ready, then deleted; the virtual nodes, Istio and the implementation are not part of this figure."""
    from kubernetes import client
    from rich.console import Console

    from vnode_harness.plumbing.kube import api_client
    from vnode_harness.providers.kind.cluster import KindProvider
    from vnode_harness.providers.kind.host import resolve_binary
    from vnode_harness.providers.kind.images.plan import NODE_IMAGE

    seconds = []
    for _ in range(runs):
        provider = KindProvider(console=Console(stderr=True, quiet=True), node_image=NODE_IMAGE)
        kind = resolve_binary(None, "kind", "", component="kind")
        kubectl = resolve_binary(None, "kubectl", "", component="kubernetes")
        start = time.monotonic()
        try:
            provider._create_or_reuse(kind, kubectl)
            provider._wait_kind_nodes(client.CoreV1Api(api_client(provider.kubeconfig, "bench")))
            seconds.append(round(time.monotonic() - start, 1))
        finally:
            provider.down()
    return {"create_to_ready_seconds": seconds, "goal": "≤ 60 s"}


def bench_mutation() -> dict[str, Any]:
    """The nightly half of the mutation matrix (CI runs `--fast` always, through tox -e integration)."""
    import yaml

    report_dir = RESULTS / "mutation"
    started = time.monotonic()
    code = subprocess.run(
        [sys.executable, "-m", "tests.mutation.matrix", "--report-dir", str(report_dir)],
        cwd=REPO,
        check=False,
    ).returncode
    matrix = yaml.safe_load((report_dir / "matrix.yaml").read_text())
    return {
        "exit_code": code,
        "kill_rate": matrix["killRate"],
        "seconds": round(time.monotonic() - started, 1),
        "goal": "every mutant killed, every variant passed",
    }


def bench_generative(scenarios: int = 60) -> dict[str, Any]:
    """Pods per second of GEN-ROUTING-EFFECTS: the test's own duration from the JUnit file."""
    import xml.etree.ElementTree as ET

    from vnode_harness.testapi.generative.model import ParameterKeys
    from vnode_harness.testapi.generative.strategies import DEFAULT_SEED, draw_scenarios

    keys = ParameterKeys("k8s.aliyun.com/eci-security-group", "k8s.aliyun.com/eci-vswitch")
    pods = sum(len(s.pods) for s in draw_scenarios(DEFAULT_SEED, scenarios, keys))
    with tempfile.TemporaryDirectory() as reports:
        subprocess.run(
            [sys.executable, "-m", "pytest", "conformance", "-p", "no:cacheprovider", "-n", "0", "-q",
             "--cluster", "local", "-k", "test_generated", "--gen-cases", str(scenarios),
             "--reports-dir", reports],
            cwd=REPO, check=True,
        )  # fmt: skip
        junit = next(Path(reports).glob("runs/*/junit.xml"))
        case = next(ET.parse(junit).iter("testcase"))
        seconds = float(case.get("time", "0"))
    return {
        "scenarios": scenarios,
        "pods": pods,
        "test_seconds": round(seconds, 1),
        "pods_per_second": round(pods / seconds, 1) if seconds else None,
        "goal": "a few hundred pods in well under a minute",
    }


BENCHES: dict[str, Callable[[], dict[str, Any]]] = {
    "kind-images": bench_kind_images,
    "kind-create": bench_kind_create,
    "warm-start": bench_warm_start,
    "admission": bench_admission,
    "e2e-pods": bench_e2e_pods,
    "suite": bench_suite,
    "scaling": bench_scaling,
    "mutation": bench_mutation,
    "generative": bench_generative,
    "cold-build": bench_cold_build,
    "reliability": bench_reliability,
}


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "_admission-server":
        _admission_server(sys.argv[2], sys.argv[3])
        return 0
    if len(sys.argv) > 1 and sys.argv[1] == "soak":  # its own options: bench/soak/cli.py
        from soak.cli import main as soak_main

        return soak_main(sys.argv[2:], repo=REPO, results=RESULTS)
    if len(sys.argv) > 1 and sys.argv[1] == "faults":  # its own options: bench/faults.py
        from faults import main as faults_main

        return faults_main(sys.argv[2:], repo=REPO, results=RESULTS)
    if len(sys.argv) > 1 and sys.argv[1] == "default-soak":  # its own options: bench/default_soak.py
        from default_soak import main as default_soak_main

        return default_soak_main(sys.argv[2:], repo=REPO, results=RESULTS)
    if len(sys.argv) > 1 and sys.argv[1] == "fuzz":  # its own options: bench/fuzz.py
        from fuzz import main as fuzz_main

        return fuzz_main(sys.argv[2:], repo=REPO, results=RESULTS)
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "names",
        nargs="*",
        choices=[*BENCHES, []],
        help="default: all but cold-build, reliability and the kind ones",
    )
    args = parser.parse_args()
    slow_or_docker = ("cold-build", "reliability", "kind-images", "kind-create", "mutation", "scaling")
    names = args.names or [name for name in BENCHES if name not in slow_or_docker]
    RESULTS.mkdir(parents=True, exist_ok=True)
    for name in names:
        figures = BENCHES[name]()
        stamp = time.strftime("%Y%m%d-%H%M%S")
        (RESULTS / f"{name}-{stamp}.json").write_text(json.dumps(figures, indent=2))
        print(f"{name}: " + ", ".join(f"{k}={v}" for k, v in figures.items()), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
