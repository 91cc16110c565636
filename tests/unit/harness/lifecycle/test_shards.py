"""How many clusters a run uses, which worker runs on which, and how the shards' ends merge."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from vnode_harness.formats.paths import REPO_ROOT
from vnode_harness.lifecycle.shards import CLUSTER_COST, ShardedRun, ShardPlanError, plan_shards, shard_name
from vnode_harness.report.model import Cleanup, LeftObject, RunObservation
from vnode_harness.run_context import ClusterHandle, RunContext, RunOptions

REFERENCE = REPO_ROOT / "implementations" / "reference.yaml"
LOCAL = CLUSTER_COST["local"].memory_mib


def carried(cores: int) -> int:
    """Local clusters `cores` carry by the rule's own per-cluster share."""
    return int(cores / CLUSTER_COST["local"].cores)


def test_auto_is_one_cluster_per_worker_bounded_by_cores_and_memory():
    assert plan_shards("auto", workers=2, provider="local", cores=2, memory_mib=20 * LOCAL).count == 2
    assert plan_shards("auto", workers=64, provider="local", cores=4, memory_mib=99 * LOCAL).count == carried(
        4
    )
    assert plan_shards("auto", workers=8, provider="local", cores=16, memory_mib=3 * LOCAL).count == 3
    assert plan_shards("auto", workers=2, provider="local", cores=2, memory_mib=LOCAL // 2).count == 1


def test_auto_says_why():
    plan = plan_shards("auto", workers=2, provider="kind", cores=4, memory_mib=24000)
    for figure in ("2 workers", "4 cores carry 4 kind cluster(s)", "24000 MiB"):
        assert figure in plan.why


def test_without_workers_or_on_an_existing_cluster_there_is_one_cluster():
    assert plan_shards("auto", workers=0, provider="local", cores=8, memory_mib=10**6).count == 1
    assert plan_shards("auto", workers=8, provider="existing", cores=8, memory_mib=10**6).count == 1


def test_asking_for_more_than_the_machine_holds_fails_before_anything_starts_with_the_numbers():
    with pytest.raises(ShardPlanError) as raised:
        plan_shards("9", workers=9, provider="local", cores=2, memory_mib=2 * LOCAL)
    message = str(raised.value)
    assert f"2 cores for 9 clusters (they carry {carried(2)} local cluster(s))" in message
    assert f"{2 * LOCAL} MiB available for 9 clusters of {LOCAL} MiB" in message


def test_more_clusters_than_workers_is_refused():
    with pytest.raises(ShardPlanError, match="2 xdist worker"):
        plan_shards("4", workers=2, provider="local", cores=8, memory_mib=10**6)


def test_a_number_that_fits_is_taken_and_nonsense_is_refused():
    assert plan_shards("2", workers=2, provider="local", cores=2, memory_mib=10**6).count == 2
    assert plan_shards("1", workers=0, provider="local", cores=1, memory_mib=0).count == 1
    for bad in ("0", "two"):
        with pytest.raises(ShardPlanError):
            plan_shards(bad, workers=2, provider="local", cores=2, memory_mib=10**6)
    with pytest.raises(ShardPlanError, match="existing"):
        plan_shards("2", workers=2, provider="existing", cores=2, memory_mib=10**6)


def _context(tmp_path: Path, shard: str) -> RunContext:
    cluster = ClusterHandle(name=f"vnode-{shard}", provider="local", kubeconfig=tmp_path, logs_dir=tmp_path)
    return RunContext(run_dir=tmp_path, cluster=cluster, implementation_file=REFERENCE, shard=shard)


def test_workers_spread_evenly_over_the_shards(tmp_path):
    run = ShardedRun(RunOptions("local", REFERENCE, tmp_path), "2", workers=4)
    run.contexts = [_context(tmp_path, shard_name(index, 2)) for index in range(2)]
    shards = [run.context_for_worker(f"gw{worker}").shard for worker in range(4)]
    assert shards == ["shard-1", "shard-2", "shard-1", "shard-2"]


def test_a_shard_logs_into_its_own_directory_under_its_own_cluster_name(tmp_path):
    options = RunOptions("kind", REFERENCE, tmp_path, cluster_name="ci", shard="shard-2")
    assert options.cluster_logs_dir == tmp_path / "cluster" / "shard-2"
    assert options.shard_cluster_name == "ci-shard-2"
    unsharded = RunOptions("kind", REFERENCE, tmp_path, cluster_name="ci")
    assert (unsharded.cluster_logs_dir, unsharded.shard_cluster_name) == (tmp_path / "cluster", "ci")


class _Finished:
    def __init__(self, shard: str, cleanup: Cleanup) -> None:
        self.options = RunOptions("local", REFERENCE, Path("."), shard=shard)
        self.cleanup = cleanup

    def clean_up(self) -> Cleanup:
        return self.cleanup


def test_the_profile_is_restored_only_where_every_shard_restored_it_and_leaks_name_their_shard(tmp_path):
    left = LeftObject(kind="Namespace", name="vnc-x", owner="suite", detail="not terminating")
    run = ShardedRun(RunOptions("local", REFERENCE, tmp_path), "2", workers=2)
    run.runs = [
        _Finished("shard-1", Cleanup(profile_restored=True, settle_seconds=3)),  # type: ignore[list-item]
        _Finished("shard-2", Cleanup(profile_restored=False, left_behind=[left], settle_seconds=5)),  # type: ignore[list-item]
    ]
    merged = run.clean_up()
    assert merged is not None
    assert merged.profile_restored is False
    assert [item.detail for item in merged.left_behind] == ["shard-2: not terminating"]
    assert merged.settle_seconds == 5


def test_n_auto_asks_for_one_worker_per_cluster_and_leaves_one_cluster_to_xdist(monkeypatch):
    from vnode_harness.lifecycle import shards

    monkeypatch.setattr(shards, "available_memory_mib", lambda: 20 * LOCAL)
    monkeypatch.setattr("os.cpu_count", lambda: 2)
    assert shards.auto_workers("auto", "local") == carried(2)
    assert shards.auto_workers("auto", "kind") == 2  # 2 cores carry two kind clusters (one core each)
    assert shards.auto_workers("3", "local") == 3
    assert shards.auto_workers("1", "local") is None  # xdist's default: one worker per core, one cluster
    assert shards.auto_workers("auto", "existing") is None


# --- existing clusters: one shard per --kubeconfig ------------------------------------------------------


def test_several_kubeconfigs_are_one_shard_each_and_need_a_worker_each():
    assert plan_shards("auto", workers=3, provider="existing", kubeconfigs=3).count == 3
    assert plan_shards("3", workers=6, provider="existing", kubeconfigs=3).count == 3
    assert plan_shards("auto", workers=8, provider="existing", kubeconfigs=1).count == 1  # today's run
    with pytest.raises(ShardPlanError, match=r"--clusters 2: 3 kubeconfigs .* pass --clusters 3"):
        plan_shards("2", workers=3, provider="existing", kubeconfigs=3)
    with pytest.raises(ShardPlanError, match=r"3 kubeconfigs need at least 3 xdist workers.*-n 3 or -n auto"):
        plan_shards("auto", workers=2, provider="existing", kubeconfigs=3)
    with pytest.raises(ShardPlanError, match="no worker"):
        plan_shards("auto", workers=0, provider="existing", kubeconfigs=2)


def test_several_kubeconfigs_with_a_provider_that_starts_its_own_clusters_are_refused():
    with pytest.raises(ShardPlanError, match=r"2 kubeconfigs .* provider is local.* --cluster existing"):
        plan_shards("auto", workers=2, provider="local", kubeconfigs=2, cores=8, memory_mib=10**6)


def test_n_auto_gives_one_worker_per_kubeconfig():
    from vnode_harness.lifecycle.shards import auto_workers

    assert auto_workers("auto", "existing", kubeconfigs=3) == 3
    assert auto_workers("auto", "existing", kubeconfigs=1) is None


def test_each_shard_gets_its_own_kubeconfig_and_implementation_pid(tmp_path):
    a, b = tmp_path / "a.yaml", tmp_path / "b.yaml"
    options = RunOptions(
        "existing", REFERENCE, tmp_path, kubeconfig=a, kubeconfigs=(a, b), implementation_pid=11,
        implementation_pids=(11, 22),
    )  # fmt: skip
    second = options.for_shard(1, "shard-2")
    assert (second.shard, second.kubeconfig, second.implementation_pid) == ("shard-2", b, 22)
    assert second.cluster_logs_dir == tmp_path / "cluster" / "shard-2"
    one = RunOptions("existing", REFERENCE, tmp_path, kubeconfig=a, kubeconfigs=(a,), implementation_pid=11)
    assert (one.for_shard(0, "").kubeconfig, one.for_shard(0, "").implementation_pid) == (a, 11)


def _handle(server: str, kubeconfig: str) -> ClusterHandle:
    return ClusterHandle(name=server, provider="existing", kubeconfig=Path(kubeconfig), logs_dir=Path("."))


def test_one_cluster_given_twice_is_found_by_its_server_or_its_kube_system_uid():
    from vnode_harness.lifecycle.shards import one_cluster_twice

    same_server = one_cluster_twice(
        [
            ("shard-1", _handle("https://API.example:443/", "a"), ""),
            ("shard-2", _handle("https://api.example", "b"), ""),
        ]
    )
    assert same_server == ["shard-1 (a) and shard-2 (b) are one cluster (server https://api.example)"]
    two_names = [("shard-1", _handle("https://127.0.0.1:6443", "a"), "u1"),
                 ("shard-2", _handle("https://localhost:6443", "b"), "u1")]  # fmt: skip
    assert one_cluster_twice(two_names) == [
        "shard-1 (a) and shard-2 (b) are one cluster (kube-system uid u1)"
    ]
    distinct = [("shard-1", _handle("https://127.0.0.1:6443", "a"), "u1"),
                ("shard-2", _handle("https://127.0.0.1:6444", "b"), "u2"),
                ("shard-3", _handle("http://127.0.0.1:6443", "c"), "")]  # fmt: skip
    assert one_cluster_twice(distinct) == []


class _ApiServer:
    """Just enough of an API server for `ExistingCluster.up` and the kube-system uid (plain HTTP)."""

    def __init__(self, uid: str) -> None:
        import json
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        bodies = {
            "/version": {
                **dict.fromkeys(("major", "minor", "gitCommit", "gitTreeState", "buildDate", "goVersion",
                                 "compiler", "platform"), "x"),
                "gitVersion": "v1.31.0",
            },
            "/api/v1/namespaces/kube-system": {
                "kind": "Namespace", "apiVersion": "v1", "metadata": {"name": "kube-system", "uid": uid},
            },
        }  # fmt: skip

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = bodies.get(self.path.split("?")[0].rstrip("/"))
                payload = json.dumps(body or {"kind": "Status", "code": 404}).encode()
                self.send_response(200 if body else 404)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def kubeconfig(self, path: Path) -> Path:
        import yaml

        path.write_text(
            yaml.safe_dump({
                "apiVersion": "v1", "kind": "Config", "current-context": "c",
                "clusters": [{"name": "c", "cluster": {"server": self.url}}],
                "users": [{"name": "u", "user": {"token": "t"}}],
                "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}],
            })
        )  # fmt: skip
        return path


@pytest.fixture
def api_servers():
    servers: list[_ApiServer] = []

    def serve(uid: str) -> _ApiServer:
        servers.append(_ApiServer(uid))
        return servers[-1]

    yield serve
    for server in servers:
        server.server.shutdown()
        server.server.server_close()


def _existing_run(tmp_path: Path, kubeconfigs: list[Path]) -> ShardedRun:
    options = RunOptions(
        "existing", REFERENCE, tmp_path / "run", kubeconfig=kubeconfigs[0], kubeconfigs=tuple(kubeconfigs)
    )
    return ShardedRun(options, "auto", workers=len(kubeconfigs))


def test_two_kubeconfigs_of_one_cluster_are_refused_before_readiness(tmp_path, api_servers, monkeypatch):
    from vnode_harness.lifecycle.run import ConformanceRun

    ready: list[str] = []
    monkeypatch.setattr(ConformanceRun, "check_ready", lambda run: ready.append(run.options.shard))
    one, other = api_servers("uid-one"), api_servers("uid-one")  # two addresses of one cluster
    run = _existing_run(
        tmp_path, [one.kubeconfig(tmp_path / "a.yaml"), other.kubeconfig(tmp_path / "b.yaml")]
    )
    with pytest.raises(
        ShardPlanError, match=r"shard-1 .*a\.yaml\) and shard-2 .*b\.yaml\) are one cluster .*eci-profile"
    ):
        run.start()
    assert ready == []
    same = _existing_run(tmp_path, [one.kubeconfig(tmp_path / "a.yaml"), one.kubeconfig(tmp_path / "c.yaml")])
    with pytest.raises(ShardPlanError, match=f"server {one.url}"):
        same.start()


def test_each_shard_runs_on_its_own_kubeconfig(tmp_path, api_servers, monkeypatch):
    from vnode_harness.lifecycle.run import ConformanceRun

    def ready(run: ConformanceRun) -> RunContext:
        return RunContext(
            run_dir=tmp_path, cluster=run.cluster, implementation_file=REFERENCE, shard=run.options.shard
        )

    monkeypatch.setattr(ConformanceRun, "check_ready", ready)
    one, other = api_servers("uid-one"), api_servers("uid-two")
    run = _existing_run(
        tmp_path, [one.kubeconfig(tmp_path / "a.yaml"), other.kubeconfig(tmp_path / "b.yaml")]
    )
    contexts = run.start()
    assert [(c.shard, c.cluster.name, c.cluster.kubeconfig.name) for c in contexts] == [
        ("shard-1", one.url, "a.yaml"),
        ("shard-2", other.url, "b.yaml"),
    ]
    assert run.context_for_worker("gw1").cluster.name == other.url


def test_a_missing_or_unreachable_kubeconfig_names_its_shard_and_file(tmp_path, api_servers):
    import socket

    from vnode_harness.run_context import ClusterError

    with socket.socket() as bound:  # bound, never listening: connections to it are refused
        bound.bind(("127.0.0.1", 0))
        closed = bound.getsockname()[1]
        unreachable = api_servers("uid-one")
        unreachable.url = f"http://127.0.0.1:{closed}"
        kubeconfigs = [
            api_servers("uid-two").kubeconfig(tmp_path / "good.yaml"),
            tmp_path / "missing.yaml",
            unreachable.kubeconfig(tmp_path / "down.yaml"),
        ]
        with pytest.raises(ClusterError) as raised:
            _existing_run(tmp_path, kubeconfigs).start()
    message = str(raised.value)
    assert message.startswith("2 of 3 shards did not start: "), message
    assert f"shard-2: --cluster existing: kubeconfig {tmp_path / 'missing.yaml'} does not exist" in message
    assert (
        f"shard-3: the cluster at http://127.0.0.1:{closed} (from {tmp_path / 'down.yaml'}) is unreachable"
        in message
    )
    assert "shard-1" not in message


class _Unreachable(_Finished):
    """A shard whose cluster went away: its cleanup is not known, its observation raised."""

    def __init__(self, shard: str, error: Exception | None = None) -> None:
        super().__init__(shard, Cleanup(profile_restored=True, settle_seconds=0))
        self.context = object()
        self.error = error

    def clean_up(self) -> Cleanup | None:  # type: ignore[override]
        if self.error is not None:
            raise self.error
        return None

    def observe_implementation_down(self, *, interrupted: bool) -> None:
        raise RuntimeError("connection refused")


class _Observed(_Finished):
    context = object()

    def observe_implementation_down(self, *, interrupted: bool) -> RunObservation:
        return RunObservation(id="implementation-down", question="q", answer="refused", detail="stopped")


def test_a_dead_shard_makes_the_profile_not_known_and_keeps_the_others_results(tmp_path):
    left = LeftObject(kind="Namespace", name="vnc-x", owner="suite", detail="not terminating")
    for dead in (_Unreachable("shard-2"), _Unreachable("shard-2", TimeoutError("no answer"))):
        run = ShardedRun(RunOptions("local", REFERENCE, tmp_path), "2", workers=2)
        alive = _Finished("shard-1", Cleanup(profile_restored=True, left_behind=[left], settle_seconds=3))
        run.runs = [alive, dead]  # type: ignore[list-item]
        merged = run.clean_up()
        assert merged is not None
        assert merged.profile_restored is None
        assert [item.detail for item in merged.left_behind] == ["shard-1: not terminating"]


def test_a_shard_whose_down_observation_raised_is_not_observed_and_the_others_still_count(tmp_path):
    run = ShardedRun(RunOptions("local", REFERENCE, tmp_path), "2", workers=2)
    alive = _Observed("shard-1", Cleanup(settle_seconds=0, profile_restored=True))
    run.runs = [alive, _Unreachable("shard-2")]  # type: ignore[list-item]
    seen = run.observe_implementation_down(interrupted=False)
    assert [(o.answer, o.detail) for o in seen] == [
        ("refused", "shard-1: stopped"),
        ("not observed", "shard-2: the observation failed: connection refused"),
    ]


class _Stopping(_Finished):
    """A shard whose teardown takes a while and records the thread it ran on."""

    def __init__(self, shard: str, gate: threading.Event, error: Exception | None = None) -> None:
        super().__init__(shard, Cleanup(profile_restored=True, settle_seconds=0))
        self.gate = gate
        self.error = error
        self.stopped_on: list[str] = []
        self.done = threading.Event()

    def stop(self) -> None:
        self.gate.wait(timeout=10)
        self.stopped_on.append(threading.current_thread().name)
        self.done.set()
        if self.error is not None:
            raise self.error


def test_a_teardown_begun_early_runs_beside_the_caller_and_stop_waits_for_it(tmp_path):
    gate = threading.Event()
    run = ShardedRun(RunOptions("local", REFERENCE, tmp_path), "2", workers=2)
    shards = [_Stopping("shard-1", gate), _Stopping("shard-2", gate, RuntimeError("kind delete failed"))]
    run.runs = shards  # type: ignore[assignment]
    run.begin_teardown()
    run.begin_teardown()  # once only
    assert [shard.stopped_on for shard in shards] == [[], []], "begun, not waited for: the reports go on"
    gate.set()
    assert all(shard.done.wait(timeout=10) for shard in shards), "torn down before anyone called stop()"
    with pytest.raises(RuntimeError, match="kind delete failed"):  # a shard's error still reaches the run
        run.stop()
    assert all(len(shard.stopped_on) == 1 for shard in shards), "each shard torn down exactly once"
    assert threading.current_thread().name not in {shard.stopped_on[0] for shard in shards}
