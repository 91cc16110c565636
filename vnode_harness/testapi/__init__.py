"""The test API: what a conformance test imports to act and judge through the Kubernetes API alone —
namespaces and pods, where pods land, the eci-profile editor and its cluster lock, the implementation's
identity, blame of its webhook, shared checks, and the generated cases."""
