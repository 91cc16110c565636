"""Fuzz tests of the inputs a user or the API server controls (issue 13 item 4).

Bounded and derandomized by default (CI); ``bench/fuzz.py`` runs the same targets for longer.
"""
