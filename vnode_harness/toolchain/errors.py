"""The one exception of the toolchain: its message is the whole explanation a user gets."""


class ToolchainError(RuntimeError):
    """A binary could not be found, verified or built; the message names the component and the fix."""
