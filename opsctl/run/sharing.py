"""A ledger in the app's own database, and the app's migrations that would drop it: the
warning a run gives when ``ledger_url`` names a database of the app's Flask-SQLAlchemy and the
project's Alembic ``env.py`` does not leave opsctl's tables alone (:mod:`opsctl.ledger.alembic`).

The check only warns: it never stops a run, and anything it cannot read is no warning.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import output

if TYPE_CHECKING:
    from flask import Flask

    from ..config import Config


def warn_if_migrations_drop_ledger(app: Flask, config: Config) -> None:
    """Warn (one line on stderr) when the next ``flask db migrate`` would drop the ledger.

    Needs an app context."""
    try:
        message = migrations_would_drop_ledger(app, config)
    except Exception:  # a check that fails says nothing: the run is what matters
        return
    if message is not None:
        output.warn(message)


def migrations_would_drop_ledger(app: Flask, config: Config) -> str | None:
    """The warning, or None: the ledger is elsewhere, there are no migrations, or they leave
    the ledger alone (``env.py`` wired, or Flask-Migrate given the filter). Needs an app
    context."""
    from ..ledger.alembic import HOOKS, excludes_ledger
    from ..ledger.engine import display_url, same_database
    from ..ledger.migrations import find_env_script, read_env_script

    ledger_url = config.effective_ledger_url
    shared = [u for u in _app_urls(app) if same_database(ledger_url, u)]
    if not shared:
        return None
    migrate: Any = app.extensions.get("migrate")
    args = getattr(migrate, "configure_args", None) or {}
    if any(excludes_ledger(args.get(hook)) for hook in HOOKS):
        return None
    directory = getattr(migrate, "directory", None)
    env = find_env_script(config.project_dir, os.fspath(directory) if directory else None)
    if env is None or read_env_script(env).wired:
        return None
    where = _shown(env, config.project_dir)
    return (f"the run ledger shares the app's database ({display_url(shared[0])}) and "
            f"{where} does not leave opsctl's tables out: the next 'flask db migrate' would "
            f"drop them, and every run, lock and run-once guard with them; 'opsctl init' "
            f"makes the one-line change (README: Flask-Migrate and Alembic)")


def _app_urls(app: Flask) -> list[str]:
    """The URLs of the app's Flask-SQLAlchemy engines, passwords kept (compared, never
    shown)."""
    db = app.extensions.get("sqlalchemy")
    if db is None:
        return []
    return [e.url.render_as_string(hide_password=False) for e in db.engines.values()]


def _shown(path: Path, project_dir: Path) -> str:
    try:
        return str(path.relative_to(project_dir))
    except ValueError:
        return str(path)
