"""The conformance suite: one test per documented requirement (see catalogue.yaml). A package so that
its modules type-check under their own names; nothing imports it."""
