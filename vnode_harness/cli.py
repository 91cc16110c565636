"""`vnode`: the project's command line — upstream toolchain, local clusters, reports.

    vnode toolchain build [COMPONENT…]   build (or verify) the pinned upstream binaries, with progress
    vnode toolchain status               where each component comes from, without building
    vnode cluster up [--name N]          start a local cluster that stays up until `down`
    vnode cluster down NAME | --all      stop a local cluster: no process, port or directory left
    vnode cluster status                 list local clusters of this user
    vnode cluster kubeconfig NAME        print the kubeconfig path of a local cluster
    vnode kind images                    build every kind image from package registries (cached)
    vnode report render REPORT.yaml      render a submitted conformance report as Markdown

Errors the user can act on (a missing Go toolchain, a failed build, a component that exits during
start-up) end with exit code 2 and one clear message, not a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from rich.console import Console
from rich.table import Table

from vnode_harness.processes import ProcessStartError
from vnode_harness.providers.base import ClusterError
from vnode_harness.toolchain import RECIPES, ToolchainError, resolve_toolchain
from vnode_harness.toolchain.cache import component_dir, read_stamp
from vnode_harness.waits import WaitTimeout

console = Console(stderr=True)


def _toolchain_build(args: argparse.Namespace) -> int:
    unknown = sorted(set(args.components) - set(RECIPES))
    if unknown:
        console.print(f"[red]unknown component(s) {', '.join(unknown)}; known: {', '.join(RECIPES)}")
        return 2
    toolchain = resolve_toolchain(args.components or None, console=console)
    for component, origin in toolchain.origins.items():
        console.print(f"{component}: {origin}")
    return 0


def _toolchain_status(_: argparse.Namespace) -> int:
    table = Table("component", "version", "cache", "directory")
    for name, recipe in RECIPES.items():
        directory = component_dir(recipe)
        stamp = read_stamp(directory)
        state = "built" if stamp == recipe.digest else ("stale" if stamp else "missing")
        table.add_row(name, recipe.label, state, str(directory))
    Console().print(table)
    return 0


def _cluster_up(args: argparse.Namespace) -> int:
    from vnode_harness.providers.local.cluster import PERSISTENT_OWNER, LocalCluster

    cluster = LocalCluster(
        args.name,
        logs_dir=Path(args.logs_dir) if args.logs_dir else None,
        console=console,
        with_istio=not args.no_istio,
        owner_pid=PERSISTENT_OWNER,
    )
    handle = cluster.up()
    print(json.dumps(handle.to_json(), indent=2))
    console.print(f"stop it with: vnode cluster down {handle.name}")
    return 0


def _cluster_down(args: argparse.Namespace) -> int:
    from vnode_harness.providers.local.cluster import LocalCluster, list_clusters

    names = [state["name"] for state in list_clusters()] if args.all else args.names
    if not names:
        console.print("no cluster named; give NAME… or --all")
        return 2
    known = {state["name"]: state for state in list_clusters()}
    for name in names:
        state = known.get(name)
        if state is None:
            console.print(f"[yellow]no local cluster named {name}")
            continue
        logs = Path(state.get("logs_dir") or "reports/clusters")
        LocalCluster(name, logs_dir=logs, console=console).down()
        console.print(f"local cluster {name} removed (logs kept in {logs})")
    return 0


def _cluster_status(_: argparse.Namespace) -> int:
    from vnode_harness.providers.local.cluster import list_clusters

    table = Table("name", "phase", "owner", "kubeconfig")
    for state in list_clusters():
        owner = "vnode cluster up" if state.get("owner_pid") == -1 else str(state.get("owner_pid"))
        if not state["owner_alive"]:
            owner += " (gone)"
        kubeconfig = str(state.get("handle", {}).get("kubeconfig", ""))
        table.add_row(state["name"], str(state.get("phase", "?")), owner, kubeconfig)
    Console().print(table)
    return 0


def _cluster_kubeconfig(args: argparse.Namespace) -> int:
    from vnode_harness.providers.local.cluster import list_clusters

    for state in list_clusters():
        if state["name"] == args.name and "handle" in state:
            print(state["handle"]["kubeconfig"])
            return 0
    console.print(f"[red]no running local cluster named {args.name}")
    return 2


def _kind_images(_: argparse.Namespace) -> int:
    from vnode_harness.kind_images import ImageBuildError, build_image_set
    from vnode_harness.providers.kind.docker import docker_available

    usable, reason = docker_available()
    if not usable:
        console.print(f"[red]error:[/red] building the kind images needs a running Docker Engine: {reason} "
                      "(sandboxed hosts: `bash .ci/docker-engine.sh` installs and starts one)")  # fmt: skip
        return 2
    try:
        images = build_image_set(console)
    except ImageBuildError as error:
        console.print(f"[red]error:[/red] {error}")
        return 2
    table = Table("image", "id")
    for name, image_id in images.image_ids.items():
        table.add_row(name, image_id.removeprefix("sha256:")[:12])
    Console().print(table)
    return 0


def _report_render(args: argparse.Namespace) -> int:
    import yaml
    from pydantic import ValidationError

    from vnode_harness.catalogue import load_catalogue
    from vnode_harness.report.markdown import render_markdown
    from vnode_harness.report.model import ConformanceReport

    try:
        report = ConformanceReport.model_validate(yaml.safe_load(Path(args.report).read_text()))
    except (OSError, yaml.YAMLError, ValidationError) as error:
        console.print(f"[red]{args.report} is not a conformance report: {error}")
        return 2
    markdown = render_markdown(report, load_catalogue())
    if args.output:
        Path(args.output).write_text(markdown)
    else:
        sys.stdout.write(markdown)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="vnode", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)

    toolchain = commands.add_parser("toolchain", help="the pinned upstream binaries").add_subparsers(
        dest="action", required=True
    )
    build = toolchain.add_parser("build", help="build missing components (all by default)")
    build.add_argument("components", nargs="*", metavar="COMPONENT", help=", ".join(RECIPES))
    build.set_defaults(handler=_toolchain_build)
    toolchain.add_parser("status", help="show the cache state").set_defaults(handler=_toolchain_status)

    cluster = commands.add_parser("cluster", help="local clusters").add_subparsers(
        dest="action", required=True
    )
    up = cluster.add_parser("up", help="start a local cluster that stays up")
    up.add_argument("--name", help="cluster name (default: vnode-<random>)")
    up.add_argument("--logs-dir", help="where component logs go (default: reports/clusters/<name>)")
    up.add_argument("--no-istio", action="store_true", help="skip istiod (faster; mesh tests cannot run)")
    up.set_defaults(handler=_cluster_up)
    down = cluster.add_parser("down", help="stop local clusters")
    down.add_argument("names", nargs="*", metavar="NAME")
    down.add_argument("--all", action="store_true", help="every local cluster of this user")
    down.set_defaults(handler=_cluster_down)
    cluster.add_parser("status", help="list local clusters").set_defaults(handler=_cluster_status)
    kubeconfig = cluster.add_parser("kubeconfig", help="print a cluster's kubeconfig path")
    kubeconfig.add_argument("name")
    kubeconfig.set_defaults(handler=_cluster_kubeconfig)

    kind = commands.add_parser("kind", help="the kind provider").add_subparsers(dest="action", required=True)
    kind.add_parser(
        "images", help="build every image of the kind provider from package registries only (cached)"
    ).set_defaults(handler=_kind_images)

    report = commands.add_parser("report", help="conformance reports").add_subparsers(
        dest="action", required=True
    )
    render = report.add_parser("render", help="render a conformance-report.yaml as Markdown")
    render.add_argument("report", help="path of a conformance-report.yaml")
    render.add_argument("--output", "-o", help="write here instead of standard output")
    render.set_defaults(handler=_report_render)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.handler(args))
    except (ToolchainError, ClusterError, ProcessStartError, WaitTimeout) as error:
        console.print(f"[red]error:[/red] {error}")
        return 2
    except KeyboardInterrupt:
        console.print("[yellow]interrupted")
        return 130


if __name__ == "__main__":
    sys.exit(main())
