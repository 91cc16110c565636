"""Fault injectors for the fault scenarios (tests/faults, `bench/run.py faults`, docs/faults.md).

Each injector does to a running local cluster what happens to real ones — its API server stopped and
started again, a virtual node going NotReady — and undoes it, so a scenario can show that the suite's
verdict names the cause and that nothing is left behind. Only host-process clusters (the local
provider) can be injected into; nothing here is used by a conformance run.
"""
