"""`--cluster auto` and the Docker check behind it, against stand-in docker and kind executables."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from vnode_harness.providers import select
from vnode_harness.providers.kind.docker import docker_available

SLEEP = shutil.which("sleep")


def script(directory: Path, name: str, body: str) -> Path:
    directory.mkdir(exist_ok=True)
    path = directory / name
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(0o755)
    return path


@pytest.fixture
def bin_dir(tmp_path, monkeypatch) -> Path:
    directory = tmp_path / "bin"
    directory.mkdir()
    monkeypatch.setenv("PATH", str(directory))
    monkeypatch.setenv("VNODE_CACHE_DIR", str(tmp_path / "cache"))  # no toolchain kind, no image stamps
    return directory


def answering_docker(bin_dir: Path, *, images: bool = True) -> None:
    """A docker that answers `info`, and `image inspect` with an ID when `images` (every image present)."""
    inspect = "echo sha256:0123" if images else "exit 1"
    script(bin_dir, "docker", f'case "$1" in info) echo 28.2.2;; image) {inspect};; *) exit 1;; esac')


class TestDockerAvailable:
    def test_answers(self, bin_dir):
        answering_docker(bin_dir)
        assert docker_available() == (True, "Docker Engine 28.2.2")

    def test_no_cli(self, bin_dir):
        assert docker_available() == (False, "the docker CLI is not on PATH")

    def test_daemon_down(self, bin_dir):
        script(
            bin_dir,
            "docker",
            "echo 'Cannot connect to the Docker daemon at unix:///var/run/docker.sock.' >&2; exit 1",
        )
        available, reason = docker_available()
        assert not available
        assert (
            reason
            == "`docker info` failed: Cannot connect to the Docker daemon at unix:///var/run/docker.sock."
        )

    @pytest.mark.skipif(SLEEP is None, reason="needs sleep(1)")
    def test_daemon_not_answering(self, bin_dir):
        script(bin_dir, "docker", f"exec {SLEEP} 30")
        assert docker_available(timeout=0.5) == (
            False,
            "the Docker daemon did not answer `docker info` within 0.5 s",
        )


class TestChooseProvider:
    @pytest.mark.parametrize("requested", ["kind", "local", "existing"])
    def test_explicit_choice_is_kept(self, requested):
        assert select.choose_provider(requested) == (requested, f"--cluster {requested} was requested")

    def test_unknown(self):
        with pytest.raises(ValueError, match="local, kind, existing, auto"):
            select.choose_provider("minikube")

    def test_auto_without_kind(self, bin_dir):
        answering_docker(bin_dir)
        provider, reason = select.choose_provider("auto")
        assert provider == "local"
        assert "no kind binary" in reason

    def test_auto_without_docker(self, bin_dir):
        script(bin_dir, "kind", "exit 0")
        provider, reason = select.choose_provider("auto")
        assert provider == "local"
        assert "Docker is not usable (the docker CLI is not on PATH)" in reason

    def test_auto_with_docker_and_kind(self, bin_dir):
        answering_docker(bin_dir)
        kind = script(bin_dir, "kind", "exit 0")
        provider, reason = select.choose_provider("auto")
        assert provider == "kind"
        assert "Docker Engine 28.2.2" in reason
        assert str(kind) in reason

    def test_auto_without_kind_images(self, bin_dir):
        answering_docker(bin_dir, images=False)
        script(bin_dir, "kind", "exit 0")
        provider, reason = select.choose_provider("auto")
        assert provider == "local"
        assert "the kind images are not built (`vnode kind images`)" in reason

    def test_auto_with_an_explicit_kind_binary(self, bin_dir, tmp_path):
        answering_docker(bin_dir)
        kind = script(tmp_path / "elsewhere", "kind", "exit 0")
        assert select.choose_provider("auto", kind_bin=kind)[0] == "kind"
