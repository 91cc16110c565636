"""`vnode`: the command line (toolchain, local clusters, kind images, catalogue, reports, playground)."""
