"""RQ's side: the job function a plain ``rq worker`` runs (:func:`run_queued`), putting a
run's job on an RQ queue, and taking it off again.

Start the worker in the project's environment, in the project's folder (or one where it is
at the same path as where runs are asked)::

    rq worker --url redis://127.0.0.1:6379/0 ops

A job has no time limit (a backfill may take hours): the run's own heartbeat tells the ledger
it is alive, and a worker killed mid-run leaves a stale lock, so the run is ``lost``. Its
result is not kept (the ledger has the outcome): RQ deletes the job, and the arguments it
carries, once it has run.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..errors import QueueUnreachable

if TYPE_CHECKING:
    from .targets import Target

#: The job function, as RQ imports it on the worker.
JOB_FUNCTION = "opsctl.queue.rq.run_queued"
#: Seconds a dispatch waits for Redis before saying it cannot be reached.
CONNECT_TIMEOUT = 3.0


def run_queued(payload: dict[str, Any]) -> int:
    """The job: run the queued run ``payload`` describes (:func:`.worker.run_job`); its exit
    code."""
    from .worker import run_job

    return run_job(payload)


def _redis(target: Target, *, retry: bool = True) -> Any:
    from redis import Redis

    more: dict[str, Any] = {}
    if not retry:  # a Redis that is down is said at once, not after redis-py's backoff
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        more["retry"] = Retry(NoBackoff(), 0)
    return Redis.from_url(target.where, socket_connect_timeout=CONNECT_TIMEOUT,
                          socket_timeout=CONNECT_TIMEOUT * 2, **more)


def _unreachable(target: Target, exc: Exception) -> QueueUnreachable:
    from ..ledger.engine import display_url

    first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    return QueueUnreachable(f"queue {target.shown}: Redis at "
                            f"{display_url(target.where)} cannot be reached ({first}); "
                            "start it, or check the queue's URL")


def reachable(target: Target) -> None:
    """Raise :class:`~opsctl.errors.QueueUnreachable` unless Redis answers."""
    from redis.exceptions import RedisError

    try:
        _redis(target, retry=False).ping()
    except (RedisError, OSError) as exc:
        raise _unreachable(target, exc) from None


def enqueue(target: Target, payload: dict[str, Any], job_id: str) -> None:
    from redis.exceptions import RedisError
    from rq import Queue

    try:
        Queue(target.queue or "default", connection=_redis(target)).enqueue_call(
            JOB_FUNCTION, args=(payload,), timeout=-1, job_id=job_id, result_ttl=0,
            description=f"opsctl run {payload['run_id']}: {payload['script']}")
    except (RedisError, OSError) as exc:
        raise _unreachable(target, exc) from None


def remove(target: Target, job_id: str) -> bool:
    """Take the job off its queue and delete it (it holds the arguments as given, with no
    expiry); False when it is not on the queue (started, or gone), and then it is left to
    whoever has it."""
    from redis.exceptions import RedisError
    from rq import Queue
    from rq.exceptions import NoSuchJobError
    from rq.job import Job

    try:
        connection = _redis(target)
        queue = Queue(target.queue or "default", connection=connection)
        if not queue.remove(job_id):
            return False
        try:
            Job.fetch(job_id, connection=connection).delete(remove_from_queue=False)
        except NoSuchJobError:
            pass
        return True
    except (RedisError, OSError) as exc:
        raise _unreachable(target, exc) from None
