"""Cluster providers: `local` (host processes), `kind` (Docker) and `existing` (any kubeconfig)."""
