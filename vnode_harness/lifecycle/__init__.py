"""One conformance run from start to end: provider and implementation up, readiness, the cleanup and
leak check after the tests, the health of the cluster's own components, and per-test diagnostics."""
