"""eci_reference: an open reference implementation of the documented virtual-node behaviors.

It is what a vendor replaces: the conformance suite only ever observes it through the Kubernetes
API, and nothing in this package imports the suite or the harness. It provides the ``vk-webhook``
mutating admission webhook (ECI Scheduler routing, ECI Effect injection, profile parameter
defaults), the ``kube-system/eci-profile`` controller, and a zone-aware disk provisioner.

The pure core (``constants``, ``profile``, ``matching``, ``mutation``) has no I/O at all, so every
rule can be tested with plain values; only ``admission`` and the controller modules touch the
network.

Why these libraries:

- ``aiohttp`` serves the admission webhook: it is small, asyncio-native and does TLS through the
  standard ``ssl`` module, so the server shares one event loop with the controller's watches.
- ``kubernetes_asyncio`` does the watches and writes in that same event loop, without threads.
- frozen ``dataclasses`` (with read-only, hashable maps) hold the active profile: a handler can use
  the object it was given for the whole request while the controller swaps in a new one, and two
  profiles compare by value, so "did anything change?" is a plain ``==``.
"""
