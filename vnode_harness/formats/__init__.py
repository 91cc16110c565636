"""The files and names the suite is defined by: the catalogue, an implementation file, the pinned
versions, the names the documents fix, and the YAML/pydantic loading they share. Imports nothing above it."""
