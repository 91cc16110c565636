"""The deliberate defects, one module per area of the catalogue (as conformance/ is split).

Each function applies one wrong behaviour to ``eci_reference`` in this process; the registry in
``tests.mutation.mutants`` says which requirement it must break and which ones it must leave intact.
"""
