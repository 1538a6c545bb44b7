"""A run's events as Blinker signals, the way Flask tells its own (``template_rendered``,
``request_finished``): connect a receiver in the app (its factory, an extension) and it is
called in the process that runs the script, inside the app context, with the app as sender.

* :data:`run_started`: the run's row is written and its lock taken; the script is about to
  be called. Keyword: ``run`` (:class:`~opsctl.run.api.CurrentRun`).
* :data:`run_finished`: the run's end is recorded and its lock released. Keywords: ``run``,
  ``status`` (``succeeded``, ``failed``, ``interrupted``, ``paused``, ``cancelled``),
  ``exit_code``, ``error`` (the traceback or message, secrets scrubbed; None on success) and
  ``summary`` (what the script reported).
* :data:`run_checkpoint`: a batch of :func:`~opsctl.batches` is done and its checkpoint
  written. Keywords: ``run`` and ``progress`` (``current_run().progress``: ``done``,
  ``total``, ``cursor``).

A dry run sends them too (``run.dry_run`` says so); a ``--no-ledger`` run has ``run.id``
None. A receiver that raises is told in one warning line and the others still run: a broken
webhook never changes how a run ends. :func:`chat_webhook` makes a receiver that posts one
line to a chat webhook (Slack, Mattermost, Rocket.Chat, Discord's ``/slack`` endpoint).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from blinker import NamedSignal, Namespace

from .. import output

_signals = Namespace()

run_started = _signals.signal("opsctl.run-started", doc="A run is about to call its script.")
run_finished = _signals.signal("opsctl.run-finished", doc="A run's end is recorded.")
run_checkpoint = _signals.signal("opsctl.run-checkpoint", doc="A batch's checkpoint is written.")


def send(signal: NamedSignal, sender: Any, **kwargs: Any) -> None:
    """Call each receiver of ``signal`` for ``sender``; one that raises is warned about and
    the others are still called."""
    if not signal.receivers:
        return
    for receiver in signal.receivers_for(sender):
        try:
            receiver(sender, **kwargs)
        except Exception as exc:  # a receiver's bug must not change the run
            name = getattr(receiver, "__qualname__", repr(receiver))
            try:
                output.warn(f"a receiver of {signal.name} ({name}) raised "
                            f"{type(exc).__name__}: {exc}")
            except (OSError, ValueError):  # a terminal gone
                pass


def finished_line(run: Any, status: str, exit_code: int | None) -> str:
    """The one line :func:`chat_webhook` posts: ``run 12 of recycle/x by alice: succeeded
    (exit 0)``, with ``dry`` for a dry run."""
    dry = " (dry run)" if run.dry_run else ""
    ident = f"run {run.id}" if run.id is not None else "a run"
    code = f" (exit {exit_code})" if exit_code is not None else ""
    return f"{ident} of {run.script} by {run.operator}{dry}: {status}{code}"


def chat_webhook(url: str, *, timeout: float = 5.0) -> Callable[..., None]:
    """A :data:`run_finished` receiver that posts ``{"text": <one line>}`` as JSON to
    ``url`` (the payload Slack's, Mattermost's and Rocket.Chat's incoming webhooks take)::

        run_finished.connect(chat_webhook(os.environ["CHAT_WEBHOOK_URL"]), weak=False)
    """
    def post(sender: Any, *, run: Any, status: str, exit_code: int | None,
             **extra: Any) -> None:
        import json
        import urllib.request

        body = json.dumps({"text": finished_line(run, status, exit_code)}).encode()
        request = urllib.request.Request(url, data=body, method="POST",
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=timeout) as answer:  # noqa: S310
            answer.read()

    return post
