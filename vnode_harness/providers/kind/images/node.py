"""The kind node image, assembled as kind v0.33.0's `kind build node-image` does (pkg/build/nodeimage),
because that command cannot run offline: Debian's containerd 1.6 `ctr` lacks the `info` command it
waits on, and it pulls every image missing from its tarball.

Steps: build the node base (node-base.Dockerfile: kind's files from the kind module's source, Debian's
systemd, containerd, runc and CNI plugins, the toolchain's kubelet, kubeadm and kubectl), run it with
containerd started by hand, import the control-plane, CoreDNS, pause and CNI images into containerd's
k8s.io namespace, write /kind/version and the CNI manifest, and commit with kind's entrypoint.
"""

from __future__ import annotations

import shutil
import subprocess
import uuid
from pathlib import Path

from vnode_harness.providers.kind.images.engine import ImageBuildError, StepRun

DOCKERFILE = Path(__file__).parent / "dockerfiles" / "node-base.Dockerfile"
CNI_MANIFEST = Path(__file__).parent / "files" / "default-cni.yaml"
CONTAINERD_CONFIG = "/etc/containerd/config.toml"


def base_context(step: StepRun, kind_source: Path, node_binaries: dict[str, Path]) -> Path:
    """kind's images/base/files plus the node binaries, as a plain build context directory."""
    context = step.workdir / "node-base"
    shutil.copytree(kind_source / "images" / "base" / "files", context / "files")
    for path in [context, *context.rglob("*")]:
        path.chmod(path.stat().st_mode | 0o200)  # the module cache is read-only
    (context / "bin").mkdir()
    for name, path in node_binaries.items():
        shutil.copy2(path, context / "bin" / name)
    shutil.copy2(DOCKERFILE, context / "Dockerfile")
    return context


def assemble(
    step: StepRun,
    *,
    base_image: str,
    image: str,
    kubernetes_version: str,
    images: list[str],
    sandbox_image: str,
    flannel_image: str,
) -> None:
    """Run the node base, load `images` into its containerd, configure, and commit as `image`."""
    container = f"vnode-node-build-{uuid.uuid4().hex[:8]}"
    step.progress("starting the node base with containerd")
    step.run(
        [
            "docker",
            "run",
            "-d",
            "--name",
            container,
            "--privileged",
            "--entrypoint",
            "sleep",
            base_image,
            "infinity",
        ],
        what="docker run of the node base",
    )
    try:
        exec_ = ["docker", "exec", container]
        sandbox = f's|sandbox_image = .*|sandbox_image = "{sandbox_image}"|'
        step.run(
            [*exec_, "sed", "-i", "-e", sandbox, CONTAINERD_CONFIG],
            what="containerd configuration",
        )
        step.run(
            [
                *exec_,
                "bash",
                "-c",
                "nohup containerd > /var/log/containerd-build.log 2>&1 & echo $! > /run/containerd-build.pid",
            ],
            what="starting containerd in the node base",
        )
        step.run(
            [
                *exec_,
                "bash",
                "-c",
                "for i in $(seq 1 60); do ctr version >/dev/null 2>&1 && exit 0; sleep 1; done; exit 1",
            ],
            what="waiting for containerd in the node base",
        )
        for name in images:
            step.progress(f"importing {name}")
            save = subprocess.Popen(["docker", "save", name], stdout=subprocess.PIPE)
            with open(step.log, "a") as out:
                result = subprocess.run(
                    [
                        "docker",
                        "exec",
                        "-i",
                        container,
                        "ctr",
                        "--namespace=k8s.io",
                        "images",
                        "import",
                        "--all-platforms",
                        "--no-unpack",
                        "--digests",
                        "-",
                    ],
                    stdin=save.stdout,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    check=False,
                )
            assert save.stdout is not None
            save.stdout.close()
            if save.wait() != 0 or result.returncode != 0:
                raise ImageBuildError(f"importing {name} into the node image failed; log {step.log}")
        manifest = CNI_MANIFEST.read_text().replace("FLANNEL_IMAGE", flannel_image)
        step.run([*exec_, "mkdir", "-p", "/kind/manifests"], what="creating /kind/manifests")
        subprocess.run(
            [*exec_[:2], "-i", container, "bash", "-c", "cat > /kind/manifests/default-cni.yaml"],
            input=manifest,
            text=True,
            check=True,
        )
        subprocess.run(
            [*exec_[:2], "-i", container, "bash", "-c", "cat > /kind/version"],
            input=kubernetes_version,
            text=True,
            check=True,
        )
        step.run(
            [
                *exec_,
                "bash",
                "-c",
                # PID 1 is `sleep`, which reaps nothing: gone or a zombie both mean containerd exited.
                "pid=$(cat /run/containerd-build.pid); kill $pid; "
                "while [ -d /proc/$pid ] && ! grep -q '^State:.*Z' /proc/$pid/status; do sleep 0.2; done; "
                "rm -f /var/log/containerd-build.log /run/containerd-build.pid",
            ],
            what="stopping containerd",
        )
        step.progress("docker commit")
        step.run(
            [
                "docker",
                "commit",
                "--change",
                'ENTRYPOINT [ "/usr/local/bin/entrypoint", "/sbin/init" ]',
                container,
                image,
            ],
            what="docker commit of the node image",
        )
    finally:
        subprocess.run(["docker", "rm", "-f", "-v", container], capture_output=True, check=False)
