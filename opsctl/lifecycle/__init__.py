"""The lifecycle of a script: promote and demote (:mod:`.moves`: planned, then performed all
or nothing with ``git mv`` in a work tree and recorded in the ledger), the suggested moves
and their evidence (:mod:`.candidates`), stale and clean (:mod:`.cleaning`), and the ledger as
they open it (:mod:`.book`).

May import the ground floor, :mod:`opsctl.ledger` and :mod:`opsctl.scaffold`; never the lint
or the command line.
"""
