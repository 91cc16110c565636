"""How many clusters a run uses, which worker runs on which, and how the shards' ends merge."""

from __future__ import annotations

from pathlib import Path

import pytest

from vnode_harness.formats.paths import REPO_ROOT
from vnode_harness.lifecycle.shards import CLUSTER_COST, ShardedRun, ShardPlanError, plan_shards, shard_name
from vnode_harness.report.model import Cleanup, LeftObject, RunObservation
from vnode_harness.run_context import ClusterHandle, RunContext, RunOptions

REFERENCE = REPO_ROOT / "implementations" / "reference.yaml"
LOCAL = CLUSTER_COST["local"].memory_mib
PER_CORE = int(1 / CLUSTER_COST["local"].cores)


def test_auto_is_one_cluster_per_worker_bounded_by_cores_and_memory():
    assert plan_shards("auto", workers=2, provider="local", cores=2, memory_mib=20 * LOCAL).count == 2
    assert (
        plan_shards("auto", workers=64, provider="local", cores=4, memory_mib=99 * LOCAL).count
        == 4 * PER_CORE
    )
    assert plan_shards("auto", workers=8, provider="local", cores=16, memory_mib=3 * LOCAL).count == 3
    assert plan_shards("auto", workers=2, provider="local", cores=2, memory_mib=LOCAL // 2).count == 1


def test_auto_says_why():
    plan = plan_shards("auto", workers=2, provider="kind", cores=4, memory_mib=24000)
    for figure in ("2 workers", "4 cores carry 2 kind cluster(s)", "24000 MiB"):
        assert figure in plan.why


def test_without_workers_or_on_an_existing_cluster_there_is_one_cluster():
    assert plan_shards("auto", workers=0, provider="local", cores=8, memory_mib=10**6).count == 1
    assert plan_shards("auto", workers=8, provider="existing", cores=8, memory_mib=10**6).count == 1


def test_asking_for_more_than_the_machine_holds_fails_before_anything_starts_with_the_numbers():
    with pytest.raises(ShardPlanError) as raised:
        plan_shards("9", workers=9, provider="local", cores=2, memory_mib=2 * LOCAL)
    message = str(raised.value)
    assert f"2 cores for 9 clusters (they carry {2 * PER_CORE} local cluster(s))" in message
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
    assert shards.auto_workers("auto", "local") == 2 * PER_CORE
    assert shards.auto_workers("auto", "kind") is None  # 2 cores carry one kind cluster: xdist's default
    assert shards.auto_workers("3", "local") == 3
    assert shards.auto_workers("1", "local") is None  # xdist's default: one worker per core, one cluster
    assert shards.auto_workers("auto", "existing") is None


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
