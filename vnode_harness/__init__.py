"""The harness package: cluster providers, upstream toolchain builds, waits, the catalogue and
implementation files, the report writers, the `vnode` CLI and the pytest plugin that ties them together."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("virtual-node-conformance")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+source"
