"""The demo Flask application that ships with opsctl: a small order service.

Customers, their orders, a per-day calendar and a cache table, in a SQLite database in the
app's instance folder that is created and filled with demo data on first use. The repository's
own ``offline_script/`` is written against it, so on a fresh checkout this works as is::

    opsctl run recycle/clear_cache
    flask --app opsctl.demo init-db      # start over with fresh demo data

Importing this package only defines the extension object; all work happens in
:func:`create_app`, since ``opsctl run`` imports it on every run.
"""

from __future__ import annotations

import os
from typing import Any

from flask import Flask

from .extensions import db

__all__ = ["create_app", "db"]


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Create the demo application and seed its database if this is its first use.

    Configuration, later sources winning: the defaults below; ``config.py`` in the instance
    folder; the environment (``DEMO_DATABASE_URL``, ``DEMO_ENV``); ``test_config``.

    - ``SQLALCHEMY_DATABASE_URI``: default ``sqlite:///demo.sqlite3``, which Flask-SQLAlchemy
      resolves inside ``app.instance_path`` and creates that folder for.
    - ``ENV``: the environment name opsctl shows and records (default ``development``).
    - ``DEMO_SEED``: create tables and demo data on first use (default True). When the data
      is already there this costs one query.
    """
    app = Flask(__name__, instance_relative_config=True)
    app.config.from_mapping(
        SQLALCHEMY_DATABASE_URI="sqlite:///demo.sqlite3",
        ENV="development",
        DEMO_SEED=True,
    )
    # A deployment's own settings live beside its data, outside the repository (flaskr style).
    app.config.from_pyfile("config.py", silent=True)
    if url := os.environ.get("DEMO_DATABASE_URL"):
        app.config["SQLALCHEMY_DATABASE_URI"] = url
    if env := os.environ.get("DEMO_ENV"):
        app.config["ENV"] = env
    if test_config is not None:
        app.config.from_mapping(test_config)

    db.init_app(app)

    # Imported here, not at the top: keeping the package import to the extension object is
    # what makes ``import opsctl.demo`` cheap.
    from . import seed, views

    app.register_blueprint(views.bp)
    app.cli.add_command(seed.init_db_command)

    if app.config["DEMO_SEED"]:
        with app.app_context():
            seed.ensure_seeded()
    return app
