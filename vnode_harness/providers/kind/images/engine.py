"""Runs image build steps in order, each cached under a key of its inputs, with progress and one log.

A step's key hashes everything that decides its content (its Dockerfile, the toolchain recipe digests,
pins, the image IDs of the steps it builds on). A stamp beside the toolchain's cache records the key
and the resulting image ID, and is written only after the image exists: a build stopped half-way
(Ctrl-C, a full disk) leaves no stamp and is redone, and an image removed from Docker is rebuilt.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console

from vnode_harness.plumbing.cache_dir import cache_root
from vnode_harness.providers.kind import commands
from vnode_harness.run_context import ClusterError


class ImageBuildError(RuntimeError):
    """An image could not be built; the message names the step and its log."""


@dataclass
class StepRun:
    """What a step's build function gets: a scratch directory, the log, and the images built so far."""

    workdir: Path
    log: Path
    progress: Callable[[str], None]
    image_ids: dict[str, str]

    def run(
        self,
        argv: Sequence[str | Path],
        *,
        what: str,
        timeout: float = 1800,
        env: Mapping[str, str] | None = None,
    ) -> None:
        commands.run([str(a) for a in argv], what=what, log=self.log, timeout=timeout, env=env)


@dataclass(frozen=True)
class Step:
    """One image: its tag, what decides its content, and how to build it."""

    name: str
    image: str
    inputs: Callable[[], dict[str, object]]
    build: Callable[[StepRun], None]
    after: tuple[str, ...] = field(default=())
    """Names of steps whose images this one is built from (their image IDs join its key)."""


def stamp_dir() -> Path:
    return cache_root() / "kind-images"


def image_id(image: str) -> str | None:
    result = subprocess.run(
        ["docker", "image", "inspect", "--format", "{{.Id}}", image],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if result.returncode != 0:
        return None
    return result.stdout.strip() or None


def step_key(step: Step, image_ids: dict[str, str]) -> str:
    payload = {"inputs": step.inputs(), "after": {name: image_ids[name] for name in step.after}}
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _cached_id(step: Step, key: str) -> str | None:
    try:
        stamp = json.loads((stamp_dir() / f"{step.name}.json").read_text())
    except (OSError, ValueError):
        return None
    if stamp.get("key") != key or stamp.get("image") != step.image:
        return None
    current = image_id(step.image)
    return current if current and current == stamp.get("id") else None


def _write_stamp(step: Step, key: str, built_id: str) -> None:
    directory = stamp_dir()
    directory.mkdir(parents=True, exist_ok=True)
    payload = json.dumps({"key": key, "image": step.image, "id": built_id}, indent=2)
    temporary = directory / f".{step.name}.json.tmp"
    temporary.write_text(payload)
    temporary.replace(directory / f"{step.name}.json")


def check_disk(required_gib: float, console: Console) -> None:
    """Refuse to start when Docker's data directory has too little room for the images."""
    result = subprocess.run(
        ["docker", "info", "--format", "{{.DockerRootDir}}"], capture_output=True, text=True, check=False
    )
    root = Path(result.stdout.strip() or "/var/lib/docker")
    probe = root if root.exists() else Path("/")
    free_gib = shutil.disk_usage(probe).free / 2**30
    if free_gib < required_gib:
        raise ImageBuildError(
            f"building the kind images needs about {required_gib:g} GiB free where Docker keeps its data "
            f"({root}); {free_gib:.1f} GiB are free. Free some space (`docker system prune`) and run again."
        )
    console.print(f"disk: {free_gib:.0f} GiB free in {root} (the images need about {required_gib:g} GiB)")


def run_steps(steps: Sequence[Step], console: Console, *, log: Path, required_gib: float) -> dict[str, str]:
    """Build whatever is missing or stale; return step name → image ID."""
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text(f"vnode kind images, {time.strftime('%Y-%m-%d %H:%M:%S')}\n")
    image_ids: dict[str, str] = {}
    checked_disk = False
    started = time.monotonic()
    for index, step in enumerate(steps, 1):
        key = step_key(step, image_ids)
        cached = _cached_id(step, key)
        label = f"[{index}/{len(steps)}] {step.image}"
        if cached:
            image_ids[step.name] = cached
            console.print(f"{label}: cached")
            continue
        if not checked_disk:
            check_disk(required_gib, console)
            checked_disk = True
        step_started = time.monotonic()
        with open(log, "a") as out:
            out.write(f"\n=== {step.name}: {step.image} (key {key}) ===\n")
        with (
            console.status(f"{label}: building") as status,
            tempfile.TemporaryDirectory(prefix=f"vnode-image-{step.name}-") as tmp,
        ):

            def progress(message: str, _label: str = label) -> None:
                status.update(f"{_label}: {message}")

            try:
                step.build(StepRun(Path(tmp), log, progress, image_ids))
            except ClusterError as error:
                raise ImageBuildError(f"building {step.image} (step {step.name}) failed: {error}") from error
        built = image_id(step.image)
        if built is None:
            raise ImageBuildError(f"step {step.name} finished but {step.image} does not exist; log {log}")
        _write_stamp(step, key, built)
        image_ids[step.name] = built
        console.print(f"{label}: built in {time.monotonic() - step_started:.0f} s")
    console.print(f"[green]kind images ready[/green] in {time.monotonic() - started:.0f} s (log {log})")
    return image_ids
