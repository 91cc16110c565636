"""Building blocks of the conformance tests: namespaces, pods, the eci-profile editor, the cluster lock."""
