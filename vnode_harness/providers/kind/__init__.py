"""The `kind` cluster provider: a kind (Kubernetes in Docker) cluster with virtual-kubelet nodes and Istio.

For release engineers with Docker; see docs/kind.md. Entry point: `cluster.KindProvider`.
"""
