import pytest

from vnode_harness import versions
from vnode_harness.toolchain import RECIPES, ToolchainError
from vnode_harness.toolchain.build import _go_output_name, go_binary
from vnode_harness.toolchain.resolve import resolve_component


def test_every_component_is_pinned_once():
    assert RECIPES["kubernetes"].module_version == versions.KUBERNETES
    assert RECIPES["istio"].module_version == versions.ISTIO_MODULE
    assert {b.name for r in RECIPES.values() for b in r.binaries} >= {
        "kube-apiserver",
        "kube-controller-manager",
        "kube-scheduler",
        "kubectl",
        "etcd",
        "kwokctl",
        "kwok",
        "virtual-kubelet",
        "pilot-discovery",
        "istioctl",
    }


def test_a_changed_pin_changes_the_cache_key():
    from dataclasses import replace

    recipe = RECIPES["etcd"]
    assert replace(recipe, module_version="v3.6.15").digest != recipe.digest


def test_go_output_name_skips_major_version_suffix():
    assert _go_output_name("go.etcd.io/etcd/server/v3") == "server"
    assert _go_output_name("k8s.io/kubernetes/cmd/kubectl") == "kubectl"


def test_missing_go_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(ToolchainError, match="Go toolchain is not on PATH"):
        go_binary()


def test_wrong_version_binary_is_ignored_and_missing_build_is_explained(monkeypatch, tmp_path):
    fake = tmp_path / "etcd"
    fake.write_text("#!/bin/sh\necho 'etcd Version: 3.4.23'\n")
    fake.chmod(0o755)
    monkeypatch.setenv("VNODE_BIN_DIR", str(tmp_path))
    monkeypatch.setenv("VNODE_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("PATH", "/nonexistent")
    from rich.console import Console

    console = Console(record=True, width=200)
    with pytest.raises(ToolchainError, match="not built yet"):
        resolve_component(RECIPES["etcd"], console, allow_build=False)
    assert "is not etcd v3.6.16" in console.export_text()
