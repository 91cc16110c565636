"""`vnode kind images`' engine: keys, stamps and failures, against a stand-in docker that keeps its
images in a directory (the real builds run in CI's kind job, not here)."""

from __future__ import annotations

from pathlib import Path

import pytest
from rich.console import Console

from vnode_harness.providers.kind.images import debian
from vnode_harness.providers.kind.images.engine import ImageBuildError, Step, StepRun, run_steps, step_key
from vnode_harness.run_context import ClusterError

FAKE_DOCKER = """#!/bin/sh
# image inspect --format X NAME -> the stored ID; info --format X -> a data directory
store="$FAKE_DOCKER_STORE"
case "$1 $2" in
  "image inspect") f="$store/$(echo "$5" | tr '/:' '__')"; [ -f "$f" ] && cat "$f" || exit 1 ;;
  "info --format") echo "$store" ;;
  *) exit 1 ;;
esac
"""


@pytest.fixture
def docker_store(tmp_path, monkeypatch) -> Path:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "docker").write_text(FAKE_DOCKER)
    (bin_dir / "docker").chmod(0o755)
    store = tmp_path / "store"
    store.mkdir()
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
    monkeypatch.setenv("FAKE_DOCKER_STORE", str(store))
    monkeypatch.setenv("VNODE_CACHE_DIR", str(tmp_path / "cache"))
    return store


def make_image(store: Path, image: str, image_id: str) -> None:
    (store / image.replace("/", "_").replace(":", "_")).write_text(image_id + "\n")


class Builds:
    """Build functions that record their calls and 'build' by writing the image into the store."""

    def __init__(self, store: Path) -> None:
        self.store = store
        self.calls: list[str] = []
        self.counter = 0

    def step(self, name: str, image: str, inputs: dict[str, object], after: tuple[str, ...] = ()) -> Step:
        def build(run: StepRun) -> None:
            self.calls.append(name)
            self.counter += 1
            make_image(self.store, image, f"sha256:{name}-{self.counter}")

        return Step(name, image, lambda: dict(inputs), build, after=after)


def run(steps: list[Step], tmp_path: Path) -> dict[str, str]:
    return run_steps(steps, Console(quiet=True), log=tmp_path / "build.log", required_gib=0)


def test_a_second_run_builds_nothing(docker_store, tmp_path):
    builds = Builds(docker_store)
    steps = [
        builds.step("base", "vnode/base:1", {"v": 1}),
        builds.step("app", "vnode/app:1", {"v": 1}, ("base",)),
    ]
    first = run(steps, tmp_path)
    assert builds.calls == ["base", "app"]
    assert run(steps, tmp_path) == first
    assert builds.calls == ["base", "app"]


def test_a_changed_input_rebuilds_that_step_and_the_steps_built_on_it(docker_store, tmp_path):
    builds = Builds(docker_store)
    run(
        [
            builds.step("base", "vnode/base:1", {"v": 1}),
            builds.step("app", "vnode/app:1", {"v": 1}, ("base",)),
        ],
        tmp_path,
    )
    builds.calls.clear()
    run(
        [
            builds.step("base", "vnode/base:1", {"v": 2}),
            builds.step("app", "vnode/app:1", {"v": 1}, ("base",)),
        ],
        tmp_path,
    )
    assert builds.calls == ["base", "app"], "app is built FROM base: its key holds base's image ID"


def test_an_image_removed_or_replaced_in_docker_is_rebuilt(docker_store, tmp_path):
    builds = Builds(docker_store)
    steps = [builds.step("base", "vnode/base:1", {"v": 1})]
    run(steps, tmp_path)
    make_image(docker_store, "vnode/base:1", "sha256:someone-elses")
    builds.calls.clear()
    run(steps, tmp_path)
    assert builds.calls == ["base"]


def test_a_failed_step_names_itself_and_leaves_no_stamp(docker_store, tmp_path):
    def failing(run: StepRun) -> None:
        raise ClusterError("docker build of vnode/app:1 failed (exit 1); log build.log")

    with pytest.raises(ImageBuildError, match=r"building vnode/app:1 \(step app\) failed: docker build"):
        run([Step("app", "vnode/app:1", dict, failing)], tmp_path)
    assert not (tmp_path / "cache" / "kind-images" / "app.json").exists()


def test_a_step_that_builds_nothing_is_an_error(docker_store, tmp_path):
    with pytest.raises(ImageBuildError, match="finished but vnode/app:1 does not exist"):
        run([Step("app", "vnode/app:1", dict, lambda run: None)], tmp_path)


def test_too_little_disk_is_refused_before_any_build(docker_store, tmp_path):
    builds = Builds(docker_store)
    with pytest.raises(ImageBuildError, match=r"needs about 1e\+06 GiB free where Docker keeps its data"):
        run_steps(
            [builds.step("base", "vnode/base:1", {})],
            Console(quiet=True),
            log=tmp_path / "l",
            required_gib=1e6,
        )
    assert builds.calls == []


def test_the_key_holds_the_inputs_and_the_parents_image_ids():
    step = Step("app", "vnode/app:1", lambda: {"v": 1}, lambda run: None, after=("base",))
    assert step_key(step, {"base": "sha256:1"}) != step_key(step, {"base": "sha256:2"})
    assert step_key(step, {"base": "sha256:1"}) == step_key(step, {"base": "sha256:1"})


@pytest.mark.parametrize(
    ("text", "mirror"),
    [
        (
            "Types: deb\nURIs: http://mirror.invalid/debian\nSuites: bookworm\n",
            "http://mirror.invalid/debian",
        ),
        (
            "deb [signed-by=/k.gpg] http://mirror.invalid/debian bookworm main\n",
            "http://mirror.invalid/debian",
        ),
        ("URIs: http://mirror.invalid/debian-security\n", None),
        ("Types: deb\nURIs: http://mirror.invalid/debian-security\nSuites: bookworm-security\n", None),
        ("# nothing\n", None),
        # an Ubuntu host (a GitHub runner): its archive serves no Debian release
        ("Types: deb\nURIs: http://archive.invalid/ubuntu/\nSuites: noble noble-updates\n", None),
        ("deb http://archive.invalid/ubuntu/ noble main\n", None),
        (
            "Types: deb\nURIs: http://archive.invalid/ubuntu/\nSuites: noble\n\n"
            "Types: deb\nURIs: http://mirror.invalid/debian\nSuites: bookworm bookworm-updates\n",
            "http://mirror.invalid/debian",
        ),
    ],
)
def test_the_debian_mirror_is_the_hosts_own(tmp_path, monkeypatch, text, mirror):
    sources = tmp_path / "debian.sources"
    sources.write_text(text)
    monkeypatch.setattr(debian, "_SOURCE_FILES", (sources,))
    assert debian.host_mirror() == mirror
