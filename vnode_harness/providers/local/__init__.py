"""The `local` cluster provider: upstream binaries as host processes (no Docker, no image registry)."""
