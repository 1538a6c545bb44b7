"""The lifecycle of a script: promote, demote, stale and clean (:mod:`.moves`), every move
all-or-nothing, with ``git mv`` in a work tree and recorded in the ledger.

May import the ground floor, :mod:`opsctl.ledger` and :mod:`opsctl.scaffold`; never the lint
or the command line.
"""
