"""Mounting the dashboard in a Flask app: :func:`init_app`."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING

from .guard import Access, Authorize
from .pages import Source

if TYPE_CHECKING:
    from flask import Flask


def init_app(app: Flask, url_prefix: str = "/ops", *, authorize: Authorize | None = None,
             roles: Mapping[str, str] | None = None,
             project: str | os.PathLike[str] | None = None,
             access: Access | None = None) -> None:
    """Register the dashboard on ``app`` at ``url_prefix``.

    ``authorize(user, action, script)`` says whether ``user`` (Flask-Login's ``current_user``
    when the app uses Flask-Login, else None) may ``action`` (``"view"``, ``"run"``,
    ``"pause"``, ``"resume"``, ``"cancel"``) the script with key ``script`` (None: the
    dashboard as a whole). Instead, ``roles`` maps actions to the role a Flask-Login user
    needs (``{"view": "support", "run": "ops"}``). With neither, every request is refused.
    ``project`` is the opsctl project folder (default: ``app.config["OPSCTL_PROJECT"]``, the
    ``OPSCTL_PROJECT`` environment variable, the project holding the app's package, else the
    folder the app runs in or above it)."""
    from ..config import find_project_dir
    from .views import blueprint

    folder = project or app.config.get("OPSCTL_PROJECT") or os.environ.get("OPSCTL_PROJECT") \
        or find_project_dir(app.root_path)
    app.extensions["opsctl"] = {
        "access": access if access is not None else Access(authorize, roles),
        "source": Source(None if folder is None else os.fspath(folder)),
    }
    app.register_blueprint(blueprint, url_prefix=url_prefix)
