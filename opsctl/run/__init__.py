"""Running a script: the run itself, step by step (:mod:`.runner`); loading the Flask app
(:mod:`.app`), the script's entry point (:mod:`.script`), opsctl's options among the script's
(:mod:`.args`), run-once and the lock, waited for and taken with the run's row
(:mod:`.locks`), the run's environment and whether it is protected (:mod:`.environment`),
the confirmation of what will run in a protected environment (:mod:`.confirmation`), the
heartbeat that keeps the lock alive (:mod:`.heartbeat`), dry runs (:mod:`.dryrun`; the guard of
their transaction, :mod:`.dryguard`, and what it knows of each database, :mod:`.drydb`), the
output tee (:mod:`.tee`), OS signals (:mod:`.signals`), the run's own Blinker signals for
receivers in the app (:mod:`.events`), secrets kept out of the ledger (:mod:`.secrets`), the
script API (:mod:`.api`; long data jobs in batches, :mod:`.batches`, paged by key,
:mod:`.keyset`, cut into a sharded run's key ranges, :mod:`.shards`, with their
checkpoints, stops and pace, :mod:`.course`, in the script's own transaction,
:mod:`.exactly`, and ``--resume``, :mod:`.resume`), how a run ends: its outcome, recorded in
the ledger and told (:mod:`.outcome`), and the warning when the ledger shares the
app's database and the app's migrations would drop it (:mod:`.sharing`).

May import the ground floor and :mod:`opsctl.ledger`; never :mod:`opsctl.cli`.
"""
