import pytest

from vnode_harness.formats import versions
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


def _rejected_output(monkeypatch, tmp_path, component: str, binary: str, prints: str) -> str:
    """Offer only a fake `binary` printing `prints` (in VNODE_BIN_DIR) for `component`, with no cache
    and no build allowed; return what the resolver said about it."""
    from rich.console import Console

    fake = tmp_path / binary
    fake.write_text(f"#!/bin/sh\necho '{prints}'\n")
    fake.chmod(0o755)
    monkeypatch.setenv("VNODE_BIN_DIR", str(tmp_path))
    monkeypatch.setenv("VNODE_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("PATH", "/nonexistent")
    console = Console(record=True, width=200)
    with pytest.raises(ToolchainError, match="not built yet"):
        resolve_component(RECIPES[component], console, allow_build=False)
    return console.export_text()


def test_wrong_version_binary_is_ignored_and_missing_build_is_explained(monkeypatch, tmp_path):
    said = _rejected_output(monkeypatch, tmp_path, "etcd", "etcd", "etcd Version: 3.4.23")
    assert "is not etcd v3.6.16" in said


def test_every_patch_exists_and_is_part_of_the_cache_key():
    from dataclasses import replace

    recipe = RECIPES["virtual-kubelet"]
    assert recipe.patches, "the virtual-kubelet mock provider needs its pods-map lock"
    assert all(path.is_file() for path in recipe.patch_paths())
    assert replace(recipe, patches=()).digest != recipe.digest


def test_unpatched_virtual_kubelet_on_path_is_not_used(monkeypatch, tmp_path):
    upstream = f"Version: {versions.VIRTUAL_KUBELET}, Built: N/A"
    said = _rejected_output(monkeypatch, tmp_path, "virtual-kubelet", "virtual-kubelet", upstream)
    assert f"{versions.VIRTUAL_KUBELET}+{versions.VIRTUAL_KUBELET_PATCH_LEVEL}" in said


def _fake_module(tmp_path, monkeypatch, patch_text: str):
    """A read-only 'module cache' copy, a fake `go` that reports it, and one patch in PATCH_DIR."""
    from dataclasses import replace

    from vnode_harness.toolchain import recipes

    module = tmp_path / "modcache" / "example.com" / "m@v1.0.0"
    module.mkdir(parents=True)
    (module / "main.go").write_text('package main\n\nvar greeting = "hello"\n')
    (module / "main.go").chmod(0o444)
    go = tmp_path / "go"
    go.write_text(f'#!/bin/sh\necho \'{{"Dir": "{module}", "GoMod": "{module}/go.mod"}}\'\n')
    go.chmod(0o755)
    patches = tmp_path / "patches"
    patches.mkdir()
    (patches / "greeting.patch").write_text(patch_text)
    monkeypatch.setattr(recipes, "PATCH_DIR", patches)
    recipe = replace(
        RECIPES["etcd"], module="example.com/m", module_version="v1.0.0", patches=("greeting.patch",)
    )
    workdir = tmp_path / "wrapper"
    workdir.mkdir()
    return go, recipe, workdir, module


GREETING_PATCH = "\n".join(
    [
        "--- a/main.go",
        "+++ b/main.go",
        "@@ -1,3 +1,3 @@",
        " package main",
        " ",
        '-var greeting = "hello"',
        '+var greeting = "patched"',
        "",
    ]
)


def test_patches_apply_to_a_writable_copy_of_the_module(monkeypatch, tmp_path):
    from vnode_harness.toolchain.build import _prepare_patched_module

    go, recipe, workdir, module = _fake_module(tmp_path, monkeypatch, GREETING_PATCH)
    relative = _prepare_patched_module(str(go), recipe, workdir, tmp_path / "build.log")
    assert 'greeting = "patched"' in (workdir / relative / "main.go").read_text()
    assert 'greeting = "hello"' in (module / "main.go").read_text()


def test_a_patch_that_no_longer_applies_names_the_patch_and_the_pin(monkeypatch, tmp_path):
    from vnode_harness.toolchain.build import _prepare_patched_module

    go, recipe, workdir, _ = _fake_module(
        tmp_path, monkeypatch, GREETING_PATCH.replace('"hello"', '"bonjour"')
    )
    with pytest.raises(ToolchainError, match=r"greeting.patch does not apply to example.com/m@v1.0.0"):
        _prepare_patched_module(str(go), recipe, workdir, tmp_path / "build.log")


def test_a_recipes_build_environment_reaches_go(tmp_path):
    from dataclasses import replace

    from vnode_harness.toolchain.build import _run_logged

    recipe = replace(RECIPES["etcd"], build_env=(("CGO_ENABLED", "0"),))
    assert recipe.digest != RECIPES["etcd"].digest
    log = tmp_path / "build.log"
    _run_logged(["sh", "-c", "echo cgo=$CGO_ENABLED"], tmp_path, log, "go build", recipe)
    assert "cgo=0" in log.read_text()
    assert "CGO_ENABLED=0 sh -c" in log.read_text()  # the log shows how to repeat the step
