"""eci_reference: an open reference implementation of the documented virtual-node behaviors.

It is what a vendor replaces: the conformance suite only ever observes it through the Kubernetes
API, and nothing in this package imports the suite or the harness. It provides the ``vk-webhook``
mutating admission webhook (ECI Scheduler routing, ECI Effect injection, profile parameter
defaults), the ``kube-system/eci-profile`` controller, and a zone-aware disk provisioner.

The modules by concern (a module imports only modules listed before it):

- pure, no network: ``constants`` (every name the parts agree on), ``text`` (bounded text for
  messages), ``cloud`` (the simulated cloud); the profile: ``kube_names`` (Kubernetes name syntax),
  ``validation`` (every problem at once), ``selectors_schema`` and ``profile_schema`` (the ConfigMap
  format as pydantic models), ``profile_problems`` (the problems in the user's words), ``profile``
  (the frozen ``Profile`` and ``parse_profile``); the decisions: ``matching``, ``mutation``; the
  disk objects: ``disks``;
- Kubernetes I/O: ``kube`` (JSON reads, list + watch), ``events`` (Events), then what is built on
  them: ``controller`` (the profile and the namespace labels), ``webhook_config`` (``vk-webhook``,
  built purely, then applied), ``storage`` (the StorageClass and the provisioner);
- the process: ``certs``, ``admission`` (the aiohttp webhook server), ``options`` (the command
  line), ``logs``, and ``app``, which starts everything in order.

Why these libraries:

- ``aiohttp`` serves the admission webhook: it is small, asyncio-native and does TLS through the
  standard ``ssl`` module, so the server shares one event loop with the controller's watches.
- ``kubernetes_asyncio`` does the watches and writes in that same event loop, without threads.
- ``pydantic`` validates the profile, as the harness validates its own files: the format is
  declared once, as models, and every problem is reported with its place.
- frozen ``dataclasses`` (with read-only, hashable maps) hold the active profile: a handler can use
  the object it was given for the whole request while the controller swaps in a new one, and two
  profiles compare by value, so "did anything change?" is a plain ``==``.
"""
