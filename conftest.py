"""Repository-wide pytest configuration: loads the conformance plugin (options, cluster, reports).

The plugin acts only on runs that include conformance/; `pytest tests` never starts a cluster.
"""

pytest_plugins = ["vnode_harness.plugin.pytest_plugin"]
