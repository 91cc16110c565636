"""The soak benchmark (`bench/run.py soak`, issue 13 item 1): many full suite runs against one cluster.

A verdict that depends on luck, or a run that leaves something behind, shows up only when the same
suite runs many times against the same cluster: each run is checked for its per-test verdicts, the
eci-profile it must restore byte for byte, the Kubernetes objects and host processes it must not leave.
"""
