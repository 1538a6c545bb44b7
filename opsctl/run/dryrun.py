"""Dry runs: what the app has that opsctl can roll back, the run itself, and how it ended.

- :func:`plan` decides before the script starts: an app with a SQLAlchemy database opsctl
  can find (Flask-SQLAlchemy, Alchemical, an ``Engine`` in ``app.extensions`` or the config)
  is rolled back; an app with none (pallets' flaskr on ``sqlite3``) is refused with exit 2,
  unless the script declares at module level that it honours ``current_run().dry_run``
  itself (``OPSCTL_DRY_RUN = "honoured"``, read from its syntax tree by :mod:`.script`).
- :func:`rolled_back` runs the script under the guard of :mod:`.dryguard` (every session joins
  a transaction opsctl holds; every way out is refused or found) and rolls everything back.
- :func:`judged` turns what the guard saw into the run's outcome: a refusal the script caught,
  or an escape found at the end, fails the run; the final line and the ledger's notes say what
  was rolled back, and by whom.

What a dry run cannot undo is listed in the README (Dry runs), each entry tested.
Light on purpose: SQLAlchemy is imported only once a dry run starts.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, NamedTuple

from ..errors import OpsctlError

if TYPE_CHECKING:
    from flask import Flask

    from .dryguard import Guard
    from .outcome import Outcome
    from .script import EntryPoint

ROLLED_BACK = "dry run: database changes rolled back"
HONOURED = "dry run honoured by the script: nothing rolled back by opsctl"
ESCAPED = "dry run escaped: changes may be committed"


class DryRunImpossible(OpsctlError):
    """``--dry-run`` for an app with nothing opsctl can roll back, and a script that does not
    declare it honours the flag itself."""

    exit_code = 2


class Plan(NamedTuple):
    #: True: opsctl rolls the database back; False: the script honours the flag itself.
    rollback: bool
    #: Engines never touched (the ledger's).
    keep: tuple[Any, ...] = ()


def plan(app: Flask, entry: EntryPoint, keep: tuple[Any, ...] = ()) -> Plan:
    """How this dry run will be kept from changing data; refused when it cannot be."""
    from .script import DRY_RUN_HONOURED, DRY_RUN_MARKER

    if databases_of(app):
        return Plan(True, keep)
    if entry.honours_dry_run:
        return Plan(False, keep)
    raise DryRunImpossible(
        f"--dry-run: the app has nothing opsctl can roll back (no Flask-SQLAlchemy, Alchemical "
        f"or SQLAlchemy Engine in app.extensions or app.config), so {entry.script.display} "
        f"would change data for real; if it skips its own changes when current_run().dry_run "
        f'is set, declare that with {DRY_RUN_MARKER} = "{DRY_RUN_HONOURED}" at its module '
        f"level")


def databases_of(app: Flask) -> list[str]:
    """Where the app keeps SQLAlchemy databases opsctl can find, in words."""
    found = []
    for name, ext in app.extensions.items():
        if name == "sqlalchemy" and hasattr(ext, "engines") or _holds_engine(ext):
            found.append(f"app.extensions[{name!r}]")
    for key, value in app.config.items():
        if _holds_engine(value):
            found.append(f"app.config[{key!r}]")
    # Alchemical keeps nothing on the app but its session's teardown.
    if any(str(getattr(f, "__module__", "")).partition(".")[0] == "alchemical"
           for f in app.teardown_appcontext_funcs):
        found.append("Alchemical")
    return found


def _holds_engine(value: object) -> bool:
    """An Engine, a session factory, or an object whose own attributes (not its properties:
    reading those could do work) hold one, directly or in a dict."""
    import sys

    engine = sys.modules.get("sqlalchemy.engine")
    if engine is None:  # nothing imported SQLAlchemy: nothing holds an engine
        return False
    from sqlalchemy.orm import scoped_session, sessionmaker

    kinds = (engine.Engine, sessionmaker, scoped_session)
    if isinstance(value, kinds):
        return True
    attributes = getattr(value, "__dict__", None)
    values = list(attributes.values()) if isinstance(attributes, dict) else []
    if isinstance(value, dict):
        values = list(value.values())
    return any(isinstance(v, kinds) or (isinstance(v, dict) and
                                        any(isinstance(w, kinds) for w in v.values()))
               for v in values)


@contextmanager
def rolled_back(app: Flask, keep: tuple[Any, ...] = ()) -> Iterator[Guard]:
    """Roll back everything done through SQLAlchemy inside the block; yields the guard,
    whose ``refusals`` and ``escapes`` :func:`judged` reads. Needs an app context."""
    from .dryguard import Guard

    guard = Guard(keep)
    _forget_sessions(app)  # a session opened before the run would not be a dry one
    guard.start()
    try:
        yield guard
    finally:
        try:
            _forget_sessions(app)
        finally:
            guard.end()


def _forget_sessions(app: Flask) -> None:
    """Close the sessions the app's extensions keep (Flask-SQLAlchemy's, Alchemical's)."""
    from flask import g

    db = app.extensions.get("sqlalchemy")
    if db is not None and hasattr(db, "session"):
        db.session.remove()
    session = g.pop("alchemical_session", None)
    if session is not None:
        session.close()


def judged(outcome: Outcome, dry: Plan, guard: Guard | None) -> Outcome:
    """The run's outcome, as the dry run makes it: failed when a refusal was caught by the
    script or an escape was found; the final line's and the ledger's words on the dry run."""
    from .outcome import Outcome

    if not dry.rollback or guard is None:
        return outcome._replace(dry=HONOURED, notes=(*outcome.notes, HONOURED))
    notes = list(outcome.notes)
    if guard.withheld:
        notes.append(f"dry run: {guard.withheld} commit{'s' if guard.withheld != 1 else ''} "
                     "on connections the script opened itself (not the session's) were "
                     "withheld, and their changes rolled back")
    if guard.escapes:
        told = f"{ESCAPED} ({'; '.join(guard.escapes)})"
        error = "\n\n".join(filter(None, [told, outcome.error]))
        return Outcome("failed", outcome.exit_code or 1, error, told, notes=(*notes, told))
    if guard.refusals and outcome.status == "succeeded":
        # The script caught the refusal and went on: the run still failed there.
        first = guard.refusals[0]
        return Outcome("failed", 1, first, first.removeprefix("dry run: "), dry=ROLLED_BACK,
                       notes=(*notes, first))
    if guard.refusals and guard.refusals[0] not in (outcome.error or ""):
        error = "\n\n".join(filter(None, [guard.refusals[0], outcome.error]))
        outcome = outcome._replace(error=error)
    return outcome._replace(dry=ROLLED_BACK, notes=tuple(notes))
