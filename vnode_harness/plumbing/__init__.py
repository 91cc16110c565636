"""Host and API plumbing every layer may use: API clients, host processes, loopback ports, the file
lock, the cache directory, waiting for a condition, and the dry-run probe pods and their namespace."""
