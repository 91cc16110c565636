"""The kind provider's images built from package registries alone (`vnode kind images`).

Where no container registry can be reached, every image a kind run needs is made here: a Debian base
by debootstrap, the kind node image assembled as `kind build node-image` would (which cannot run
offline), the control-plane images from the toolchain's builds, and the images of Istio, the virtual
nodes, the reference implementation and regular-node test pods. See docs/kind.md.
"""

from vnode_harness.providers.kind.images.engine import ImageBuildError
from vnode_harness.providers.kind.images.plan import BuiltImageSet, build_image_set

__all__ = ["BuiltImageSet", "ImageBuildError", "build_image_set"]
