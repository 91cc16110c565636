"""`vnode images`: every image a run needs, for air-gapped vendors to copy into their registry first.

`--names` prints one reference a line (`for image in $(vnode images --names); do …`); `--image-mirror
REGISTRY/PREFIX` adds where each is pulled from then (with `--names`: the mirrored references).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.table import Table

from vnode_harness.formats.paths import REPO_ROOT


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    images = commands.add_parser(
        "images", help="every image a run needs (for a mirror); --image-mirror rewrites"
    )
    images.add_argument("--cluster", choices=("kind", "existing", "local"), default="kind")
    images.add_argument(
        "--kind-images",
        choices=("built", "upstream"),
        default="built",
        help="with --cluster kind: the image set (default built)",
    )
    images.add_argument(
        "--implementation",
        default=str(REPO_ROOT / "implementations" / "reference.yaml"),
        help="its install.kind images are listed too",
    )
    images.add_argument(
        "--in-cluster", action="store_true", help="add the suite image (vnode run --in-cluster)"
    )
    images.add_argument(
        "--image-mirror", metavar="REGISTRY/PREFIX", help="where each is pulled from a mirror"
    )
    images.add_argument("--names", action="store_true", help="only the references, one a line")
    images.set_defaults(handler=images_command)


def images_command(args: argparse.Namespace) -> int:
    from vnode_harness.formats.implementation import load_implementation
    from vnode_harness.formats.yaml_files import ModelFileError
    from vnode_harness.plumbing.console import make_console
    from vnode_harness.providers.needed_images import needed_images

    try:
        implementation = load_implementation(Path(args.implementation))
    except ModelFileError as error:
        make_console(stderr=True).print(f"[red]error:[/red] {error}", highlight=False, soft_wrap=True)
        return 2
    images = needed_images(
        args.cluster, implementation, upstream=args.kind_images == "upstream", in_cluster=args.in_cluster
    )
    if args.names:
        for image in images:
            print(image.pull_from(args.image_mirror))
        return 0
    columns = ["image", "for", "how it reaches the nodes"] + (["pull from"] if args.image_mirror else [])
    table = Table(*columns)
    for image in images:
        row = [image.name, image.role, image.how]
        table.add_row(*([*row, image.pull_from(args.image_mirror)] if args.image_mirror else row))
    out = make_console()
    out.print(table)
    if not images:
        out.print(f"a {args.cluster} run needs no image (its cluster is host processes)")
    return 0
