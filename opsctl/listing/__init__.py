"""``opsctl list``: every script with its kind, owner, age, description and last run.

Owns what a listed script is and its JSON (:mod:`.entries`: the scripts found as the catalogue
finds them, a test holding the two alike), the folders a list shows and their descriptions
through the ``listing`` cache (:mod:`.folders`), and what the command prints
(:mod:`.show`, whose :func:`~.show.execute` the Click command and the Click-free fast path of
:mod:`opsctl.cli.list_fast` both call).

May import the ground floor (naming, similarity, output, filecache, config, project, errors)
and the ledger's light readers (:mod:`opsctl.ledger.facts`, :mod:`opsctl.ledger.glance`).
A listing of 10,000 scripts must stay within 2x of a bare ``os.scandir`` walk of them, so
none of it imports :mod:`typing`, :mod:`pathlib`, :mod:`dataclasses` or Click, nor builds the
catalogue's :class:`~opsctl.catalogue.Script` objects.

This ``__init__`` imports nothing.
"""
