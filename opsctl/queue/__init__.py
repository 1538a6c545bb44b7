"""Runs on the team's own workers: ``opsctl run --queue NAME`` records a run ``queued`` and
hands it to RQ or Celery; a worker of theirs runs it through :mod:`opsctl.run`'s runner, so it
keeps every guarantee of a local run (one ledger row, the lock, run-once, dry run, signals).

Where queues are and how to reach them (:mod:`.targets`), asking for a run, following it and
cancelling it while queued (:mod:`.dispatch`), a sharded run's N child runs
(:mod:`.shards`), what a worker does with a job
(:mod:`.worker`), and each engine's side: :mod:`.rq` (the job function a plain ``rq worker``
runs) and :mod:`.celery` (the task registered on the team's Celery app). opsctl grows no
engine of its own; ``rq`` and ``celery`` are imported only by their modules (extras
``opsctl[rq]``, ``opsctl[celery]``).

May import the ground floor, :mod:`opsctl.ledger` and :mod:`opsctl.run`; never
:mod:`opsctl.cli`.
"""
