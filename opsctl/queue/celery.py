"""Celery's side: the task opsctl registers on the team's Celery app (:func:`register`),
sending a run's job to it, and revoking one.

In the module that makes the Celery app::

    from opsctl.queue.celery import register

    register(celery_app)

and start its worker as usual, in the project's folder (``celery -A tasks:celery_app worker
-Q ops``). The asking side imports the same app (``celery://tasks:celery_app``) only to reach
its broker: the task is sent by name, so nothing of the worker's runs there.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..errors import ConfigError, QueueUnreachable

if TYPE_CHECKING:
    from .targets import Target

#: The task's name on the team's app.
TASK_NAME = "opsctl.run"
#: Seconds a dispatch waits for the broker before saying it cannot be reached.
CONNECT_TIMEOUT = 3.0


def register(celery_app: Any) -> Any:
    """Register opsctl's task on ``celery_app``; returns the task. Late acknowledgement is
    off on purpose: a worker killed mid-run must not have the broker start the run again
    behind the ledger's back (the run is ``lost``; ``--resume`` goes on from its last
    checkpoint)."""

    def run_queued(payload: dict[str, Any]) -> int:
        from .worker import run_job

        return run_job(payload)

    return celery_app.task(name=TASK_NAME, acks_late=False, ignore_result=True)(run_queued)


def _app(target: Target) -> Any:
    import importlib

    module, _, attribute = target.where.partition(":")
    try:
        found = getattr(importlib.import_module(module), attribute)
    except (ImportError, AttributeError) as exc:
        raise ConfigError(f"queue {target.shown}: cannot import the Celery app "
                          f"{target.where} ({type(exc).__name__}: {exc})") from None
    return found


def _unreachable(target: Target, app: Any, exc: BaseException) -> QueueUnreachable:
    broker = app.connection_for_write().as_uri()  # without its password
    first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    return QueueUnreachable(f"queue {target.shown}: the broker at {broker} cannot be reached "
                            f"({first}); start it, or check the Celery app's broker_url")


def reachable(target: Target) -> None:
    """Raise :class:`~opsctl.errors.QueueUnreachable` unless the app's broker answers."""
    app = _app(target)
    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=0, timeout=CONNECT_TIMEOUT)
    except Exception as exc:  # kombu's and the transport's errors alike
        raise _unreachable(target, app, exc) from None


def enqueue(target: Target, payload: dict[str, Any], job_id: str) -> None:
    app = _app(target)
    # What Celery's logs and events (inspect, Flower) show of the task instead of its
    # arguments, which carry the script's as given: a secret among them.
    shown = f"(opsctl run {payload['run_id']}: {payload['script']})"
    options: dict[str, Any] = {"task_id": job_id, "retry": False, "argsrepr": shown,
                               "kwargsrepr": "{}"}
    if target.queue:
        options["queue"] = target.queue
    try:
        app.send_task(TASK_NAME, args=[payload], **options)
    except Exception as exc:  # the broker went away between the check and the send
        raise _unreachable(target, app, exc) from None


def remove(target: Target, job_id: str) -> bool:
    """Revoke the job: a worker that receives it drops it. True when the revoke was sent."""
    app = _app(target)
    try:
        app.control.revoke(job_id)
    except Exception as exc:
        raise _unreachable(target, app, exc) from None
    return True
