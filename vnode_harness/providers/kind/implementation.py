"""Installing the implementation under test into a kind cluster, from its implementation file.

`install.kind` lists up to four steps, run in this order: build each image with `docker build` and
load it into the nodes with `kind load docker-image` (no registry is involved, so the manifests must
not pull those images: a tag other than `latest` gets imagePullPolicy IfNotPresent); server-side apply
the manifests; `helm upgrade --install --wait` the chart; run the command. Then the harness waits for
the implementation's Deployments (those in the manifests) to be Available and, when the file
declares `observation.implementationPods`, for those pods to be Ready.

A digest of everything installed (image IDs, manifest and chart contents, values, command) is kept
by the provider, so a reused cluster (`--keep-cluster`) is not re-installed when nothing changed.
Images are rebuilt every time (Docker's cache makes an unchanged build a no-op) because their IDs are
part of that digest; a Deployment that runs a rebuilt image under the same tag is rolled through a
pod-template annotation of the image IDs.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from kubernetes import client

from vnode_harness.formats.implementation import Implementation, KindImage, KindInstall, PlaceholderValues
from vnode_harness.plumbing.hostnet import free_ports
from vnode_harness.plumbing.waits import WaitTimeout, wait_for
from vnode_harness.providers.kind import commands
from vnode_harness.providers.kind.images.engine import image_id as docker_image_id
from vnode_harness.providers.kind.objects import conditions_of, has_condition, name_of, status_count
from vnode_harness.run_context import ClusterError

FIELD_MANAGER = "vnode-kind-provider"
IMAGE_IDS_ANNOTATION = "vnode.dev/image-ids"
MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")
"""What `kubectl apply -f DIRECTORY` reads from a directory (not recursively)."""


@dataclass(frozen=True)
class DeploymentRef:
    namespace: str
    name: str
    images: tuple[str, ...]


def kind_install(implementation: Implementation) -> KindInstall:
    install = implementation.install.kind
    if install is None:
        raise ClusterError(
            f"{implementation.metadata.project} has no install.kind in its implementation file: it cannot "
            "run on a kind cluster (use --cluster local, or --cluster existing where it is installed)"
        )
    return install


def _resolve(root: Path, path: str) -> Path:
    resolved = Path(path).expanduser()
    return resolved if resolved.is_absolute() else root / resolved


def image_build_command(image: KindImage, root: Path) -> list[str]:
    return [
        "docker",
        "build",
        "--tag",
        image.name,
        "--file",
        str(_resolve(root, image.dockerfile)),
        str(_resolve(root, image.context)),
    ]


def image_id(name: str) -> str:
    return commands.run(
        ["docker", "image", "inspect", "--format", "{{.Id}}", name],
        what=f"docker image inspect {name}",
        timeout=60,
    ).strip()


def implementation_image_facts(implementation: Implementation | None) -> dict[str, str]:
    """The implementation's own images (install.kind.images) and their IDs in Docker, as report facts."""
    install = implementation.install.kind if implementation is not None else None
    images = install.images if install else []
    return {f"image:{image.name}": docker_image_id(image.name) or "" for image in images}


def build_images(images: Iterable[KindImage], root: Path, logs_dir: Path) -> dict[str, str]:
    """Build every image; return image name → image ID (what identifies the content under the tag)."""
    ids: dict[str, str] = {}
    for image in images:
        log = logs_dir / f"docker-build-{_file_safe(image.name)}.log"
        commands.run(
            image_build_command(image, root), what=f"docker build of {image.name}", log=log, timeout=1800
        )
        ids[image.name] = image_id(image.name)
    return ids


def manifest_files(install: KindInstall, root: Path) -> list[Path]:
    """The files `kubectl apply -f` reads for each manifests entry, in order; a missing entry is an error."""
    files: list[Path] = []
    for entry in install.manifests:
        path = _resolve(root, entry)
        if path.is_dir():
            files += sorted(p for p in path.iterdir() if p.is_file() and p.suffix in MANIFEST_SUFFIXES)
        elif path.is_file():
            files.append(path)
        else:
            raise ClusterError(
                f"install.kind.manifests names {entry}, which does not exist (looked at {path})"
            )
    return files


def manifest_documents(files: Iterable[Path]) -> list[dict[str, Any]]:
    documents: list[dict[str, Any]] = []
    for path in files:
        try:
            loaded = list(yaml.safe_load_all(path.read_text()))
        except yaml.YAMLError as error:
            raise ClusterError(f"manifest {path} is not valid YAML: {error}") from error
        documents += [document for document in loaded if isinstance(document, dict)]
    return documents


def deployments_in(documents: Iterable[dict[str, Any]]) -> list[DeploymentRef]:
    found = []
    for document in documents:
        if document.get("kind") != "Deployment" or not str(document.get("apiVersion", "")).startswith(
            "apps/"
        ):
            continue
        metadata = document.get("metadata") or {}
        pod_spec = ((document.get("spec") or {}).get("template") or {}).get("spec") or {}
        containers = [*(pod_spec.get("initContainers") or []), *(pod_spec.get("containers") or [])]
        found.append(
            DeploymentRef(
                namespace=str(metadata.get("namespace") or "default"),
                name=str(metadata.get("name")),
                images=tuple(str(container.get("image", "")) for container in containers),
            )
        )
    return found


def _tree_digest(path: Path) -> str:
    """Content digest of a file or directory (a local Helm chart); a chart reference hashes as text."""
    digest = hashlib.sha256()
    if path.is_file():
        digest.update(path.read_bytes())
    elif path.is_dir():
        for file in sorted(p for p in path.rglob("*") if p.is_file()):
            digest.update(str(file.relative_to(path)).encode() + b"\0" + file.read_bytes())
    else:
        digest.update(str(path).encode())
    return digest.hexdigest()


def install_digest(install: KindInstall, root: Path, image_ids: dict[str, str]) -> str:
    """Everything that decides what the cluster ends up running."""
    payload = {
        "images": image_ids,
        "manifests": {str(path): _tree_digest(path) for path in manifest_files(install, root)},
        "helm": None
        if install.helm is None
        else {
            **install.helm.model_dump(mode="json"),
            "chartContent": _tree_digest(_resolve(root, install.helm.chart)),
        },
        "command": install.command,
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def kubectl_apply_command(kubectl: Path, kubeconfig: Path, *, dry_run: bool = False) -> list[str]:
    """Server-side apply of a YAML stream on stdin; `dry_run` asks the API server to admit and validate
    everything (schema, RBAC, webhooks) and store nothing."""
    command = [str(kubectl), "--kubeconfig", str(kubeconfig), "apply", "--server-side", "--force-conflicts",
               f"--field-manager={FIELD_MANAGER}", "-f", "-"]  # fmt: skip
    return [*command, "--dry-run=server"] if dry_run else command


def apply_documents(
    kubectl: Path, kubeconfig: Path, documents: list[dict[str, Any]], *, what: str, log: Path
) -> None:
    if documents:
        commands.run(kubectl_apply_command(kubectl, kubeconfig), what=what, log=log,
                     input_text=yaml.safe_dump_all(documents, sort_keys=False))  # fmt: skip


def helm_command(
    helm: Path, kubeconfig: Path, install: KindInstall, root: Path, values_file: Path
) -> list[str]:
    assert install.helm is not None
    chart_path = _resolve(root, install.helm.chart)
    chart = (
        str(chart_path) if chart_path.exists() else install.helm.chart
    )  # a path, or a repo/chart reference
    return [
        str(helm), "upgrade", "--install", install.helm.release, chart,
        "--namespace", install.helm.namespace, "--create-namespace", "--kubeconfig", str(kubeconfig),
        "--values", str(values_file), "--wait", "--timeout", "10m",
    ]  # fmt: skip


def _file_safe(name: str) -> str:
    return "".join(character if character.isalnum() or character in "-." else "_" for character in name)


def stamp_image_ids(documents: list[dict[str, Any]], image_ids: dict[str, str]) -> list[dict[str, Any]]:
    """Pods keep running the old image when a rebuilt image keeps its tag: an annotation of the image IDs
    on the pod template of each Deployment that runs a built image rolls exactly those whose images
    changed. Returns copies of those Deployments; the other documents are passed through unchanged."""
    stamped = []
    for original in documents:
        references = deployments_in([original])
        used = (
            {name: image_ids[name] for name in references[0].images if name in image_ids}
            if references
            else {}
        )
        if not used:
            stamped.append(original)
            continue
        document = json.loads(json.dumps(original))
        template = document["spec"]["template"]
        metadata = template.get("metadata") or {}
        annotations = metadata.get("annotations") or {}
        annotations[IMAGE_IDS_ANNOTATION] = hashlib.sha256(
            json.dumps(used, sort_keys=True).encode()
        ).hexdigest()[:16]
        metadata["annotations"] = annotations
        template["metadata"] = metadata
        stamped.append(document)
    return stamped


def wait_installed(
    api: client.ApiClient,
    implementation: Implementation,
    deployments: list[DeploymentRef],
    timeout: float = 300,
) -> None:
    apps = client.AppsV1Api(api)
    core = client.CoreV1Api(api)

    def deployments_available() -> tuple[bool | None, str]:
        waiting = []
        for deployment in deployments:
            try:
                current = apps.read_namespaced_deployment(deployment.name, deployment.namespace)
            except client.ApiException as error:
                waiting.append(f"{deployment.namespace}/{deployment.name} ({error.status} {error.reason})")
                continue
            updated = status_count(current, "updated_replicas") >= status_count(current, "replicas")
            if not has_condition(current, "Available") or not updated:
                waiting.append(f"{deployment.namespace}/{deployment.name} ({conditions_of(current)})")
        return (True if not waiting else None), f"not Available yet: {', '.join(waiting)}"

    pods = implementation.observation.implementation_pods

    def pods_ready() -> tuple[bool | None, str]:
        assert pods is not None
        items = core.list_namespaced_pod(pods.namespace, label_selector=pods.label_selector).items
        not_ready = [name_of(pod) for pod in items if not has_condition(pod, "Ready")]
        ok = bool(items) and not not_ready
        return (True if ok else None), f"{len(items)} pods, not Ready: {not_ready}"

    try:
        if deployments:
            wait_for(
                f"the Deployments of {implementation.metadata.project} to be Available",
                deployments_available,
                timeout=timeout,
                hint="kubectl get deployments -A",
            )
        if pods is not None:
            wait_for(
                f"the pods of {implementation.metadata.project} ({pods.label_selector}) to be Ready",
                pods_ready,
                timeout=timeout,
                hint=f"kubectl -n {pods.namespace} get pods -l {pods.label_selector}",
            )
    except WaitTimeout as error:
        raise ClusterError(str(error)) from error


def install_implementation(
    implementation: Implementation,
    *,
    api: client.ApiClient,
    kubeconfig: Path,
    kubectl: Path,
    load_image: Callable[[str], None],
    root: Path,
    logs_dir: Path,
    workdir: Path,
    applied_digest: str | None,
) -> str:
    """Install unless `applied_digest` says the cluster already runs exactly this; return the new digest."""
    install = kind_install(implementation)
    image_ids = build_images(install.images, root, logs_dir)
    documents = manifest_documents(manifest_files(install, root))
    deployments = deployments_in(documents)
    digest = install_digest(install, root, image_ids)
    if digest != applied_digest:
        log = logs_dir / f"install-{_file_safe(implementation.metadata.project)}.log"
        for name in image_ids:
            load_image(name)
        apply_documents(kubectl, kubeconfig, stamp_image_ids(documents, image_ids),
                        what=f"kubectl apply of {', '.join(install.manifests)}", log=log)  # fmt: skip
        if install.helm is not None:
            helm = shutil.which("helm")
            if helm is None:
                raise ClusterError(
                    "install.kind.helm needs the helm CLI on PATH; install Helm 3 and run again"
                )
            workdir.mkdir(parents=True, exist_ok=True)
            values_file = workdir / "helm-values.yaml"
            values_file.write_text(yaml.safe_dump(install.helm.values))
            helm_argv = helm_command(Path(helm), kubeconfig, install, root, values_file)
            commands.run(helm_argv, what="helm upgrade --install", log=log, timeout=900)
        if install.command is not None:
            workdir.mkdir(parents=True, exist_ok=True)
            values = PlaceholderValues(
                kubeconfig=str(kubeconfig), port=free_ports(1)[0], workdir=str(workdir), python=sys.executable
            )
            argv = [values.substitute(argument) for argument in install.command]
            commands.run(argv, what="install.kind.command", log=log, timeout=900)
    wait_installed(api, implementation, deployments)
    return digest
