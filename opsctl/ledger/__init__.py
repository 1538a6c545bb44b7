"""The run ledger: runs, moves, locks, and the schema's upgrades, on its own SQLAlchemy engine.

Without SQLAlchemy: :mod:`.facts` (statuses, the schema version, whether there is a ledger),
:mod:`.values` (the frozen values callers get), :mod:`.processes` (this machine's processes),
:mod:`.spans` (a script's lineage through moves, as plain values), :mod:`.glance` and
:mod:`.serverglance` (the reads of ``history`` and ``list`` on a SQLite ledger through
``sqlite3``, with :mod:`.glanceshards` for sharded runs, and of ``list`` on a PostgreSQL
or MariaDB one through its driver, or :mod:`.pgwire`, PostgreSQL's protocol spoken to a
server on this machine), :mod:`.lastruns`
(``list``'s last runs, read by whichever can). With it: :mod:`.store`
(:class:`~.store.Ledger`, built from :mod:`.core`, :mod:`.lineage`, :mod:`.locks`,
:mod:`.tally`, :mod:`.reads`, :mod:`.writes`, :mod:`.ends`, the end of a run kept
whatever happens, with :mod:`.journal`, the local journal, :mod:`.progress`, a run's batches
(with :mod:`.apart`, their checkpoints on PostgreSQL on a connection of their own),
:mod:`.queued`, runs asked of a queue's workers, :mod:`.shards`, a sharded run's parent
and children, and :mod:`.sharded`, its lock kept alive by its children), :mod:`.schema`
(the tables and their indexes), :mod:`.queries` (the reads' statements, each a limited
walk of an index), :mod:`.paging` (a page of runs by keyset, for the web dashboard),
:mod:`.upgrade` (the steps to the schema version), :mod:`.rows` (values to rows and back),
:mod:`.engine` and :mod:`.backend` with one module per database (:mod:`.sqlite`,
:mod:`.postgresql`, :mod:`.mysql`) for whatever differs between them. For a ledger in the
app's own database: :mod:`.alembic`, the filter a project's Alembic ``env.py`` imports to leave
the ledger's tables alone, and :mod:`.migrations`, finding that ``env.py`` and changing it
(neither imports SQLAlchemy up front).

May import only the ground floor's errors, config, output and light (NamedTuple without
typing); it knows nothing of commands, the lint or how history is shown. Rows never leave
it: callers get frozen values.

This ``__init__`` imports nothing, so reading :mod:`.facts` never loads SQLAlchemy.
"""
