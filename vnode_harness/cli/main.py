"""`vnode`: the project's command line — upstream toolchain, local clusters, reports.

    vnode toolchain build [COMPONENT…]   build (or verify) the pinned upstream binaries, with progress
    vnode toolchain status               where each component comes from, without building
    vnode cluster up [--name N]          start a local cluster that stays up until `down`
      [--implementation FILE]            ... with that implementation running: a playground
    vnode cluster down NAME | --all      stop a local cluster (and its implementation): nothing left
    vnode cluster status                 list local clusters of this user
    vnode cluster kubeconfig NAME        print the kubeconfig path of a local cluster
    vnode kind images                    build every kind image from package registries (cached)
    vnode images [--cluster C] [--in-cluster] [--image-mirror M]
                                         every image a run needs (for a mirror), where it is pulled from
    vnode run --in-cluster --kubeconfig K [-- PYTEST ARGS]
                                         the suite as a Job inside the cluster under test
    vnode catalogue [--implementation F] the requirements with their tests (and what F's run certifies)
    vnode catalogue show ID              one requirement (quote, source section, tests, fixtures), or
                                         a scope entry a report lists as not certified
    vnode report render REPORT.yaml      render a submitted conformance report as Markdown
    vnode report verify REPORT|BUNDLE    check a submitted report (and its evidence bundle); exit 1 if not
    vnode [GROUP]                        this help (of the group); `vnode --version`: suite and catalogue

Errors the user can act on (a missing Go toolchain, a failed build, a component that exits during
start-up) end with exit code 2 and one clear message, not a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from rich.table import Table

from vnode_harness.cli import images as images_cli
from vnode_harness.cli import run as run_cli
from vnode_harness.plumbing.console import make_console
from vnode_harness.plumbing.processes import ProcessStartError
from vnode_harness.plumbing.waits import WaitTimeout
from vnode_harness.run_context import ClusterError
from vnode_harness.toolchain import RECIPES, ToolchainError, resolve_toolchain
from vnode_harness.toolchain.cache import component_dir, read_stamp

console = make_console(stderr=True)


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
    make_console().print(table)
    return 0


def _cluster_up(args: argparse.Namespace) -> int:
    from vnode_harness.cli.playground import playground_guide, start_playground_implementation
    from vnode_harness.formats.implementation import load_implementation
    from vnode_harness.formats.yaml_files import ModelFileError
    from vnode_harness.providers.local.cluster import PERSISTENT_OWNER, LocalCluster

    try:  # a broken implementation file is named before minutes of cluster start
        implementation = load_implementation(Path(args.implementation)) if args.implementation else None
    except ModelFileError as error:
        console.print(f"[red]error:[/red] {error}", highlight=False, soft_wrap=True)
        return 2
    cluster = LocalCluster(
        args.name,
        logs_dir=Path(args.logs_dir) if args.logs_dir else None,
        console=console,
        with_istio=not args.no_istio,
        owner_pid=PERSISTENT_OWNER,
    )
    handle = cluster.up()
    if implementation is not None:
        try:
            with console.status(f"starting {implementation.metadata.project} and checking it is ready"):
                start_playground_implementation(
                    implementation, handle, cluster.directory, cluster.pid_dir, with_istio=not args.no_istio
                )
        except BaseException:
            console.print(f"[red]{implementation.metadata.project} did not start; removing the cluster")
            cluster.down()
            raise
    print(json.dumps(handle.to_json(), indent=2))
    if implementation is not None:
        console.print(
            playground_guide(handle, implementation, _pinned_kubectl()), highlight=False, soft_wrap=True
        )
    else:
        console.print(f"stop it with: vnode cluster down {handle.name}")
    return 0


def _pinned_kubectl() -> Path | None:
    try:
        return resolve_toolchain(["kubernetes"], console=console, allow_build=False)["kubectl"]
    except (ToolchainError, KeyError):
        return None


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
    make_console().print(table)
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
    from vnode_harness.providers.kind.docker import docker_available
    from vnode_harness.providers.kind.images import ImageBuildError, build_image_set
    from vnode_harness.providers.kind.images.plan import summary

    usable, reason = docker_available()
    if not usable:
        console.print(f"[red]error:[/red] building the kind images needs a running Docker Engine: {reason} "
                      "(sandboxed hosts: `bash .ci/docker-engine.sh` installs and starts one)")  # fmt: skip
        return 2
    try:
        images = build_image_set(console, suite=True)
    except ImageBuildError as error:
        console.print(f"[red]error:[/red] {error}")
        return 2
    out = make_console()
    table = Table("image", "id")
    for name, image_id in images.image_ids.items():
        table.add_row(name, image_id.removeprefix("sha256:")[:12])
    out.print(table)
    for line in summary(images):
        out.print(line, markup=False, highlight=False)
    return 0


def _report_render(args: argparse.Namespace) -> int:
    from vnode_harness.formats.catalogue import load_catalogue
    from vnode_harness.report.markdown import render_markdown
    from vnode_harness.report.verify import read_report

    report, problems = read_report(Path(args.report))
    if report is None:
        for problem in problems or [f"{args.report}: no conformance report in it"]:
            print(problem)
        console.print(f"[red]{args.report}: nothing to render", highlight=False)
        return 2
    markdown = render_markdown(report, load_catalogue())
    if args.output:
        Path(args.output).write_text(markdown)
    else:
        sys.stdout.write(markdown)
    return 0


def _report_verify(args: argparse.Namespace) -> int:
    from vnode_harness.report.verify import verify

    try:
        verification = verify(Path(args.report), junit=Path(args.junit) if args.junit else None)
    except Exception as error:  # a reviewer gets a sentence, never a traceback; this is a suite bug
        console.print(f"[red]could not verify {args.report}: {type(error).__name__}: {error} (please report)")
        return 2
    for problem in verification.problems:
        print(problem)
    for note in verification.notes:
        console.print(f"note: {note}", highlight=False, soft_wrap=True)
    report = verification.report
    if not verification.valid:
        console.print(f"[red]{args.report}: {len(verification.problems)} problem(s)", highlight=False)
        return 1
    assert report is not None  # a valid verification always parsed its report
    implementation = report.implementation
    print(
        f"{args.report}: valid — {implementation.project} {implementation.version}, result {report.result} "
        f"({report.mode} run, {report.totals.passed} passed, {report.totals.failed} failed, "
        f"{report.totals.broken} broken, {report.totals.skipped} skipped)"
    )
    if verification.reproduce:
        checkout = report.fingerprint.checkout if report.fingerprint else report.suite_version
        print(
            f"to reproduce, from a checkout of {checkout} with the bundle's implementation.yaml in its root: "
            f"{verification.reproduce}"
        )
    return 0


def _catalogue(args: argparse.Namespace) -> int:
    from vnode_harness.cli import catalogue as catalogue_cli
    from vnode_harness.formats.catalogue import load_catalogue
    from vnode_harness.formats.implementation import load_implementation
    from vnode_harness.formats.yaml_files import ModelFileError

    try:
        catalogue = load_catalogue()
        implementation = load_implementation(Path(args.implementation)) if args.implementation else None
        shown = getattr(args, "id", None)
        requirement = catalogue.requirement(shown) if shown and catalogue.has_requirement(shown) else None
        scope_entry = catalogue.scope_entry(shown) if shown and requirement is None else None
        if args.feature:
            catalogue.feature(args.feature)
        tests = catalogue_cli.collect_tests(args.keyword)
    except (ModelFileError, KeyError, catalogue_cli.CollectionError) as error:
        console.print(f"[red]error:[/red] {error}", highlight=False, soft_wrap=True)
        return 2
    out = make_console()
    if scope_entry is not None:
        catalogue_cli.render_scope_entry(out, scope_entry)
        return 0
    plans = (
        catalogue_cli.plan(catalogue, implementation, tests, selected=bool(args.keyword))
        if implementation is not None
        else None
    )
    if requirement is not None:
        entry = plans[requirement.id] if plans is not None else None
        catalogue_cli.render_requirement(out, catalogue, requirement, tests, plan_entry=entry)
    else:
        catalogue_cli.render_list(out, catalogue, tests, plans=plans, feature=args.feature)
    if args.implementation:
        for note in catalogue_cli.preview_notes(Path(args.implementation), args.keyword):
            console.print(f"note: {note}", highlight=False, soft_wrap=True)
    return 0


def _helps(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """`vnode` or `vnode GROUP` alone prints its help (exit 0) instead of an error about a missing
    argument: the way to find the commands is to type the program's name."""

    def print_help(_: argparse.Namespace) -> int:
        parser.print_help()
        return 0

    parser.set_defaults(handler=print_help)
    return parser


def _version() -> str:
    from vnode_harness import __version__
    from vnode_harness.formats.catalogue import catalogue_digest

    return f"vnode {__version__} (catalogue {catalogue_digest()[:12]})"


def build_parser() -> argparse.ArgumentParser:
    overview = "\n\n".join(__doc__.split("\n\n")[:2])  # the title and every command, one line each
    parser = _helps(
        argparse.ArgumentParser(
            prog="vnode", description=overview, formatter_class=argparse.RawDescriptionHelpFormatter
        )
    )
    parser.add_argument("--version", action="version", version=_version(), help="the suite and catalogue")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    toolchain = _helps(commands.add_parser("toolchain", help="the pinned upstream binaries")).add_subparsers(
        dest="action"
    )
    build = toolchain.add_parser("build", help="build missing components (all by default)")
    build.add_argument("components", nargs="*", metavar="COMPONENT", help=", ".join(RECIPES))
    build.set_defaults(handler=_toolchain_build)
    toolchain.add_parser("status", help="show the cache state").set_defaults(handler=_toolchain_status)

    cluster = _helps(commands.add_parser("cluster", help="local clusters")).add_subparsers(dest="action")
    up = cluster.add_parser("up", help="start a local cluster that stays up")
    up.add_argument("--name", help="cluster name (default: vnode-<random>)")
    up.add_argument("--logs-dir", help="where component logs go (default: reports/clusters/<name>)")
    up.add_argument("--no-istio", action="store_true", help="skip istiod (faster; mesh tests cannot run)")
    up.add_argument(
        "--implementation",
        help="also start this implementation (its install.local) and print commands to try: a playground",
    )
    up.set_defaults(handler=_cluster_up)
    down = cluster.add_parser("down", help="stop local clusters")
    down.add_argument("names", nargs="*", metavar="NAME")
    down.add_argument("--all", action="store_true", help="every local cluster of this user")
    down.set_defaults(handler=_cluster_down)
    cluster.add_parser("status", help="list local clusters").set_defaults(handler=_cluster_status)
    kubeconfig = cluster.add_parser("kubeconfig", help="print a cluster's kubeconfig path")
    kubeconfig.add_argument("name")
    kubeconfig.set_defaults(handler=_cluster_kubeconfig)

    kind = _helps(commands.add_parser("kind", help="the kind provider")).add_subparsers(dest="action")
    kind.add_parser(
        "images", help="build every image of the kind provider from package registries only (cached)"
    ).set_defaults(handler=_kind_images)

    run_cli.add_parser(commands)
    images_cli.add_parser(commands)

    preview = argparse.ArgumentParser(add_help=False)
    preview.add_argument(
        "--implementation", help="mark what this implementation's run will certify, skip or not run"
    )
    preview.add_argument("-k", dest="keyword", help="preview a focused run: pytest's -k expression")
    catalogue = commands.add_parser(
        "catalogue", parents=[preview], help="the requirements, their tests, and what a run will certify"
    )
    catalogue.add_argument("--feature", help="only this feature's requirements")
    catalogue.set_defaults(handler=_catalogue)
    show = catalogue.add_subparsers(dest="action").add_parser(
        "show", parents=[preview], help="one requirement: quote, source section, tests, fixtures"
    )
    show.add_argument(
        "id", metavar="ID", help="a requirement id (e.g. SCHED-POD-LABEL) or a scope id a report lists"
    )
    show.set_defaults(handler=_catalogue, feature=None)

    report = _helps(commands.add_parser("report", help="conformance reports")).add_subparsers(dest="action")
    render = report.add_parser("render", help="render a report, a bundle or a run directory as Markdown")
    render.add_argument("report", help="a conformance-report.yaml, a bundle.tar.gz, or a run directory")
    render.add_argument("--output", "-o", help="write here instead of standard output")
    render.set_defaults(handler=_report_render)
    check = report.add_parser(
        "verify",
        help="check a submitted report or bundle: schema, suite and catalogue, counts, rules, JUnit, digests",
    )
    check.add_argument("report", help="a conformance-report.yaml, a bundle.tar.gz, or a run directory")
    check.add_argument(
        "--junit", help="the run's junit.xml (default: the bundle's, or the one beside the report)"
    )
    check.set_defaults(handler=_report_verify)
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
