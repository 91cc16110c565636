"""The command lines the kind provider runs, recorded instead of run so the unit tests need no Docker
Engine (`tox -e conformance -- --cluster kind` runs them for real): `kind create cluster`, `kind load
docker-image`, `kind delete cluster` (through pytest-kind's KindCluster, whose subprocess calls are
recorded) and `docker build`. Plus the guarantee that kind and kubectl are never downloaded."""

from __future__ import annotations

import subprocess
import tomllib
from pathlib import Path

import pytest
import pytest_kind.cluster
import yaml

from vnode_harness.formats import versions
from vnode_harness.formats.implementation import Implementation, KindImage
from vnode_harness.providers.kind import cluster as kind_cluster
from vnode_harness.providers.kind import commands, host
from vnode_harness.providers.kind import config as kind_config
from vnode_harness.providers.kind import implementation as kind_implementation
from vnode_harness.providers.kind.cluster import KindProvider
from vnode_harness.providers.kind.config import DEFAULT_CONFIG
from vnode_harness.providers.kind.host import resolve_binary
from vnode_harness.providers.kind.images.plan import BuiltImageSet
from vnode_harness.run_context import ClusterError


class Recorder:
    """Stands in for the subprocess calls of pytest-kind and of vnode_harness.providers.kind.commands."""

    def __init__(self, clusters: str = "") -> None:
        self.clusters = clusters
        self.calls: list[list[str]] = []

    # pytest_kind.cluster.subprocess
    CalledProcessError = subprocess.CalledProcessError

    def check_output(self, argv, **_):
        self.calls.append([str(a) for a in argv])
        return self.clusters if argv[1:] == ["get", "clusters"] else ""

    def run(self, argv, **_):
        self.calls.append([str(a) for a in argv])
        return subprocess.CompletedProcess(argv, 0)

    # commands.run
    def command(self, argv, **_):
        self.calls.append([str(a) for a in argv])
        if argv[1:3] == ["image", "inspect"]:
            return "sha256:" + "1" * 64 + "\n"
        return self.clusters if argv[1:] == ["get", "clusters"] else ""


class NoDownloads:
    def get(self, *args, **kwargs):
        raise AssertionError(f"pytest-kind tried to download {args}")


class FakePykube:
    class KubeConfig:
        @staticmethod
        def from_file(path):
            return path

    @staticmethod
    def HTTPClient(config):  # pykube's name
        return config


def executable(path: Path) -> Path:
    path.write_text("#!/bin/sh\nexit 0\n")
    path.chmod(0o755)
    return path


@pytest.fixture
def recorder(monkeypatch, tmp_path) -> Recorder:
    recorder = Recorder()
    monkeypatch.setattr(pytest_kind.cluster, "subprocess", recorder)
    monkeypatch.setattr(pytest_kind.cluster, "requests", NoDownloads())
    monkeypatch.setattr(pytest_kind.cluster, "pykube", FakePykube)
    monkeypatch.setattr(commands, "run", recorder.command)
    monkeypatch.setattr(kind_cluster, "kind_state_root", lambda: tmp_path / "state")
    monkeypatch.chdir(tmp_path)
    return recorder


@pytest.fixture
def binaries(tmp_path) -> tuple[Path, Path]:
    directory = tmp_path / "bin"
    directory.mkdir()
    return executable(directory / "kind"), executable(directory / "kubectl")


def provider(binaries, tmp_path, **kwargs) -> KindProvider:
    kind, kubectl = binaries
    return KindProvider(
        "vnode-0a1b2c", kind_bin=kind, kubectl_bin=kubectl, logs_dir=tmp_path / "logs", **kwargs
    )


IMAGE_ID = "sha256:" + "1" * 64  # what the recorder's `docker image inspect` answers


def built_set(node_image: str) -> BuiltImageSet:
    return BuiltImageSet(
        node_image=node_image,
        istio_hub="vnode",
        istio_tag="1",
        test_image="vnode/nginx:2",
        virtual_kubelet_image="vnode/virtual-kubelet:1",
        load_images=(),
        preloaded=("vnode/pilot:1", "vnode/nginx:2", "vnode/virtual-kubelet:1"),
        image_ids={name: IMAGE_ID for name in ("vnode/pilot:1", "vnode/nginx:2", "vnode/virtual-kubelet:1")},
    )


@pytest.mark.parametrize(
    ("reused", "node_image", "loads"),
    [
        (False, "vnode/kind-node:1", []),  # a new cluster from the built node image has them
        (True, "vnode/kind-node:1", [["vnode/virtual-kubelet:1"]]),  # made by an earlier run: maybe not
        (False, "vendor/node:1", [["vnode/virtual-kubelet:1"]]),  # `--kind-image`: another node image
    ],
    ids=["new-cluster", "reused-cluster", "explicit-node-image"],
)
def test_images_inside_the_node_image_are_not_loaded_again(
    recorder, binaries, tmp_path, reused, node_image, loads
):
    cluster = provider(binaries, tmp_path, node_image=node_image)
    cluster.images = built_set("vnode/kind-node:1")
    cluster._cluster = object.__new__(pytest_kind.cluster.KindCluster)
    cluster._cluster.kind_path = binaries[0]

    inside = cluster._inside_node_image(reused)
    cluster._load_image("vnode/virtual-kubelet:1")

    assert inside == ([] if loads else list(cluster.images.preloaded))
    seen = [call[7:] for call in recorder.calls if call[1:3] == ["load", "docker-image"]]
    assert seen == loads


def test_create_load_delete(recorder, binaries, tmp_path):
    kind, kubectl = binaries
    cluster = provider(binaries, tmp_path)
    kubeconfig = tmp_path / "state" / "vnode-0a1b2c" / "kubeconfig"

    assert cluster._create_or_reuse(kind, kubectl) is False
    config = kubeconfig.parent / "kind-config.yaml"
    assert recorder.calls == [
        [str(kind), "get", "clusters"],  # ours: refuse to take over a cluster we did not make
        [str(kind), "get", "clusters"],  # pytest-kind's own check
        [str(kind), "create", "cluster", "--name=vnode-0a1b2c", f"--kubeconfig={kubeconfig}",
         f"--image={versions.KIND_NODE_IMAGE}", "--config", str(config)],
    ]  # fmt: skip
    assert yaml.safe_load(config.read_text()) == kind_config.effective_config(
        DEFAULT_CONFIG,
        cgroup_v1=kind_config.cgroup_v1_host(),
        restrict_oom_score_adj=not kind_config.has_cap_sys_resource(),
    )
    assert not (tmp_path / ".pytest-kind").exists(), "pytest-kind's scratch directory was left behind"

    recorder.calls.clear()
    cluster._load_images(["vnode/pilot:1", "vnode/nginx:2"])  # one call, one archive
    cluster._load_images([])  # the upstream image set loads nothing at start: no call at all
    loads = [call for call in recorder.calls if call[1:3] == ["load", "docker-image"]]
    assert loads == [
        [str(kind), "load", "docker-image", "--name", "vnode-0a1b2c", "--nodes", "vnode-0a1b2c-control-plane",
         "vnode/pilot:1", "vnode/nginx:2"]
    ]  # fmt: skip

    recorder.calls.clear()
    cluster._load_image("vnode/nginx:2")  # loaded at start with the same image ID: not again
    cluster._load_image("vnode/virtual-kubelet:v1.13.0")  # not loaded yet
    loads = [call for call in recorder.calls if call[1:3] == ["load", "docker-image"]]
    assert loads == [
        [str(kind), "load", "docker-image", "--name", "vnode-0a1b2c", "--nodes", "vnode-0a1b2c-control-plane",
         "vnode/virtual-kubelet:v1.13.0"]
    ]  # fmt: skip

    recorder.calls.clear()
    cluster.down()
    deletes = [c for c in recorder.calls if c[1:3] == ["delete", "cluster"]]
    assert deletes == [[str(kind), "delete", "cluster", "--name=vnode-0a1b2c", f"--kubeconfig={kubeconfig}"]]
    assert not kubeconfig.parent.exists()

    recorder.calls.clear()
    cluster.down()
    assert recorder.calls == [], "down() must be idempotent"


def test_keep_cluster_reuses_without_creating_and_never_deletes(recorder, binaries, tmp_path):
    kind, kubectl = binaries
    recorder.clusters = "other\nvnode-kept\n"
    cluster = KindProvider(keep_cluster=True, kind_bin=kind, kubectl_bin=kubectl, logs_dir=tmp_path / "logs")
    assert cluster.cluster_name == "vnode-kept"

    assert cluster._create_or_reuse(kind, kubectl) is True
    verbs = [c[1:3] for c in recorder.calls]
    assert ["export", "kubeconfig"] in verbs
    assert ["create", "cluster"] not in verbs

    recorder.calls.clear()
    cluster.down()
    assert not [c for c in recorder.calls if "delete" in c]


def test_an_existing_cluster_is_not_taken_over_without_keep(recorder, binaries, tmp_path):
    kind, kubectl = binaries
    recorder.clusters = "vnode-0a1b2c\n"
    cluster = provider(binaries, tmp_path)
    with pytest.raises(ClusterError, match="already exists and is not ours"):
        cluster._create_or_reuse(kind, kubectl)
    recorder.calls.clear()
    cluster.down()
    assert recorder.calls == [], "nothing was created, so nothing may be deleted"


def test_fresh_names_per_run():
    names = {KindProvider().cluster_name for _ in range(5)}
    assert len(names) == 5
    assert all(name.startswith("vnode-") for name in names)


class TestHostFixesInTheKindConfig:
    """What a cgroup v1 host and a host without CAP_SYS_RESOURCE need, added to kind-config/cluster.yaml."""

    def test_a_cgroup_v2_host_with_every_capability_gets_the_config_as_it_is(self):
        config = kind_config.effective_config(DEFAULT_CONFIG, cgroup_v1=False, restrict_oom_score_adj=False)
        assert config == yaml.safe_load(DEFAULT_CONFIG.read_text())

    def test_cgroup_v1_lets_the_kubelet_start(self):
        config = kind_config.effective_config(DEFAULT_CONFIG, cgroup_v1=True, restrict_oom_score_adj=False)
        patches = [yaml.safe_load(patch) for patch in config["kubeadmConfigPatches"]]
        assert patches == [{"kind": "KubeletConfiguration", "failCgroupV1": False}]
        assert "containerdConfigPatches" not in config

    def test_without_cap_sys_resource_containerd_leaves_oom_score_adj_alone(self):
        config = kind_config.effective_config(DEFAULT_CONFIG, cgroup_v1=False, restrict_oom_score_adj=True)
        (patch,) = config["containerdConfigPatches"]
        assert tomllib.loads(patch) == {
            "plugins": {"io.containerd.grpc.v1.cri": {"restrict_oom_score_adj": True}}
        }


class TestImageSetChoice:
    def test_explicit_choices_are_kept(self):
        assert host.choose_image_set("built", False)[0] == "built"
        assert host.choose_image_set("upstream", False)[0] == "upstream"

    def test_an_explicit_node_image_means_upstream(self):
        assert host.choose_image_set("auto", True) == (
            "upstream",
            "--kind-image names the node image",
        )

    def test_auto_builds_unless_the_upstream_node_image_is_there(self, monkeypatch):
        monkeypatch.setattr(host, "image_id", lambda image: None)
        chosen, reason = host.choose_image_set("auto", False)
        assert chosen == "built"
        assert "built here from package registries" in reason
        monkeypatch.setattr(host, "image_id", lambda image: "sha256:1")
        assert host.choose_image_set("auto", False)[0] == "upstream"

    def test_unknown(self):
        with pytest.raises(ClusterError, match="unknown --kind-images"):
            host.choose_image_set("nightly", False)


def implementation_with_image(tmp_path) -> tuple[Implementation, Path]:
    root = tmp_path / "checkout"
    (root / "deploy" / "manifests").mkdir(parents=True)
    (root / "deploy" / "Dockerfile").write_text("FROM scratch\n")
    (root / "deploy" / "manifests" / "app.yaml").write_text(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: app, namespace: kube-system}\n"
        "spec:\n  selector: {matchLabels: {app: x}}\n  template:\n    metadata: {labels: {app: x}}\n"
        "    spec: {containers: [{name: app, image: 'acme:dev'}]}\n"
    )
    implementation = Implementation.model_validate(
        {
            "apiVersion": "conformance.vnode.dev/v1alpha1",
            "kind": "Implementation",
            "metadata": {
                "organization": "o",
                "project": "acme",
                "version": "1",
                "url": "https://a.invalid",
                "contact": "c",
            },
            "features": ["core-scheduling"],
            "install": {
                "kind": {
                    "images": [{"name": "acme:dev", "dockerfile": "deploy/Dockerfile", "context": "."}],
                    "manifests": ["deploy/manifests/"],
                }
            },
        }
    )
    return implementation, root


def test_implementation_images_are_built_loaded_then_applied_and_skipped_when_current(
    recorder, tmp_path, monkeypatch
):
    implementation, root = implementation_with_image(tmp_path)
    monkeypatch.setattr(kind_implementation, "wait_installed", lambda *args, **kwargs: None)
    loaded: list[str] = []
    kwargs = {
        "api": None,
        "kubeconfig": tmp_path / "kubeconfig",
        "kubectl": Path("/bin/kubectl"),
        "load_image": loaded.append,
        "root": root,
        "logs_dir": tmp_path / "logs",
        "workdir": tmp_path / "work",
    }

    digest = kind_implementation.install_implementation(implementation, applied_digest=None, **kwargs)
    dockerfile = root / "deploy" / "Dockerfile"
    assert recorder.calls[0] == ["docker", "build", "--tag", "acme:dev", "--file", str(dockerfile), str(root)]
    assert recorder.calls[1][:3] == ["docker", "image", "inspect"]
    assert loaded == ["acme:dev"]
    assert recorder.calls[2][:4] == ["/bin/kubectl", "--kubeconfig", str(tmp_path / "kubeconfig"), "apply"]
    assert len(recorder.calls) == 3

    recorder.calls.clear()
    loaded.clear()
    again = kind_implementation.install_implementation(implementation, applied_digest=digest, **kwargs)
    assert again == digest
    assert [c[:2] for c in recorder.calls] == [["docker", "build"], ["docker", "image"]]
    assert loaded == [], "an unchanged install is neither reloaded nor re-applied"


def test_build_images_command_for_each_image(recorder, tmp_path):
    image = KindImage(name="eci-reference:dev", dockerfile="eci_reference/deploy/Dockerfile", context=".")
    ids = kind_implementation.build_images([image], tmp_path, tmp_path / "logs")
    assert ids == {"eci-reference:dev": "sha256:" + "1" * 64}
    dockerfile = tmp_path / "eci_reference" / "deploy" / "Dockerfile"
    assert recorder.calls[0] == [
        "docker",
        "build",
        "--tag",
        "eci-reference:dev",
        "--file",
        str(dockerfile),
        str(tmp_path),
    ]


class TestNeverDownloads:
    def test_missing_kind_names_the_pinned_release_and_the_option(self, monkeypatch, tmp_path):
        monkeypatch.setenv("PATH", str(tmp_path))
        with pytest.raises(ClusterError) as raised:
            resolve_binary(None, "kind", host.INSTALL_KIND)
        message = str(raised.value)
        assert "not on PATH" in message
        assert f"go install sigs.k8s.io/kind@{versions.KIND}" in message
        assert "--kind-bin" in message

    def test_explicit_path_must_be_executable(self, tmp_path):
        missing = tmp_path / "kind"
        with pytest.raises(ClusterError, match="is not an executable file"):
            resolve_binary(missing, "kind", host.INSTALL_KIND)

    def test_up_fails_before_anything_when_docker_is_missing(self, monkeypatch, tmp_path):
        monkeypatch.setenv("PATH", str(tmp_path))
        monkeypatch.setattr(pytest_kind.cluster, "requests", NoDownloads())
        with pytest.raises(ClusterError, match=r"needs a running Docker Engine.*\.ci/docker-engine\.sh"):
            KindProvider(logs_dir=tmp_path / "logs").up()

    def test_a_missing_kind_is_built_from_go_modules_not_downloaded(self, monkeypatch, tmp_path):
        monkeypatch.setenv("PATH", str(tmp_path))  # no go either
        monkeypatch.setenv("VNODE_CACHE_DIR", str(tmp_path / "cache"))
        with pytest.raises(ClusterError, match=r"kind is not on PATH and could not be built.*Go toolchain"):
            resolve_binary(None, "kind", host.INSTALL_KIND, component="kind")

    def test_kubectl_is_not_downloaded_either(self, monkeypatch, tmp_path):
        monkeypatch.setenv("PATH", str(tmp_path))
        monkeypatch.setenv("VNODE_CACHE_DIR", str(tmp_path / "cache"))
        with pytest.raises(
            ClusterError, match=r"kubectl is not on PATH and could not be built.*--kind-kubectl-bin"
        ):
            resolve_binary(None, "kubectl", host.INSTALL_KUBECTL, component="kubernetes")


def test_the_start_builds_the_implementation_images_and_leaves_a_failed_build_to_the_install(
    recorder, binaries, tmp_path, monkeypatch
):
    implementation, root = implementation_with_image(tmp_path)
    cluster = provider(binaries, tmp_path, implementation=implementation, implementation_root=root)
    assert cluster._implementation_images() == ["acme:dev"]
    assert recorder.calls[0][:4] == ["docker", "build", "--tag", "acme:dev"]

    def build_fails(argv, **kwargs):
        if argv[:2] == ["docker", "build"]:
            raise ClusterError("docker build of acme:dev failed (exit 1)")
        return recorder.command(argv, **kwargs)

    monkeypatch.setattr(commands, "run", build_fails)
    assert cluster._implementation_images() == [], "the install builds again and names the implementation"
    assert provider(binaries, tmp_path)._implementation_images() == []  # no implementation: nothing
