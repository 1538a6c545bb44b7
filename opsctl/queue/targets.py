"""Where a queue is: ``[tool.opsctl.queues]`` names each (``OPSCTL_QUEUE_<NAME>`` overrides
one), by URL:

* ``rq://HOST:PORT/DB?queue=NAME`` (``rq://:PASSWORD@HOST...`` with a password): an RQ queue
  on that Redis (queue ``default`` when none is named);
* ``celery://MODULE:ATTRIBUTE?queue=NAME``: the Celery app importable as
  ``MODULE:ATTRIBUTE`` (its broker is its own configuration), on that queue (Celery's default
  queue when none is named).

Each engine's module (:mod:`.rq`, :mod:`.celery`) is an :class:`Engine`: it puts a job on its
queue, removes one, and says whether the queue can be reached.
"""

from __future__ import annotations

from typing import Any, NamedTuple, Protocol
from urllib.parse import parse_qs, urlsplit, urlunsplit

from ..errors import ConfigError

#: The engines, by URL scheme.
SCHEMES = ("rq", "celery")


class Target(NamedTuple):
    """A queue: its configured ``name``, ``engine`` (``rq`` or ``celery``), where the engine
    finds it (``where``: a Redis URL, or a Celery app's import path) and its ``queue``."""

    name: str
    engine: str
    where: str
    queue: str | None

    @property
    def shown(self) -> str:
        """``ops (rq)``: for messages (never a password)."""
        return f"{self.name} ({self.engine})"


class Engine(Protocol):
    def reachable(self, target: Target) -> None: ...

    def enqueue(self, target: Target, payload: dict[str, Any], job_id: str) -> None: ...

    def remove(self, target: Target, job_id: str) -> bool: ...


def parse(name: str, url: str, source: str = "[tool.opsctl.queues]") -> Target:
    """The target a queue URL names; a broken URL is a :class:`~opsctl.errors.ConfigError`
    (which shows it without its password)."""
    from ..ledger.engine import display_url

    shown = display_url(url)
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    queue = query.get("queue", [None])[-1]
    if parts.scheme == "rq":
        if not parts.netloc:
            raise ConfigError(f"{source}: queue {name!r}: {shown!r} names no Redis host "
                              "(rq://127.0.0.1:6379/0?queue=ops)")
        redis = urlunsplit(("redis", parts.netloc, parts.path or "/0", "", ""))
        return Target(name, "rq", redis, queue or "default")
    if parts.scheme == "celery":
        app = parts.netloc + parts.path
        if ":" not in app.strip(":"):
            raise ConfigError(f"{source}: queue {name!r}: {shown!r} names no Celery app "
                              "(celery://module:celery_app)")
        return Target(name, "celery", app, queue)
    raise ConfigError(f"{source}: queue {name!r}: {shown!r} is no queue URL (rq://HOST:PORT/DB"
                      "?queue=NAME or celery://MODULE:ATTRIBUTE)")


def target(queues: dict[str, str] | Any, name: str) -> Target:
    """The configured queue ``name`` (names compare ignoring case)."""
    wanted = name.lower()
    for known, url in queues.items():
        if known.lower() == wanted:
            return parse(known, url)
    listed = ", ".join(sorted(queues)) or "none"
    raise ConfigError(f"no queue named {name!r} (configured: {listed}); add it to "
                      f"[tool.opsctl.queues] ({name} = \"rq://127.0.0.1:6379/0?queue={name}\") "
                      f"or set OPSCTL_QUEUE_{name.upper()}")
