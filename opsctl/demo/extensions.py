"""The demo's Flask-SQLAlchemy extension object, apart from the app factory so the models,
views and seed import it without importing the package that imports them (Flask's own
``extensions.py`` pattern)."""

from __future__ import annotations

from flask_sqlalchemy import SQLAlchemy
from sqlalchemy.orm import DeclarativeBase


class Base(DeclarativeBase):
    """The declarative base of the demo models (SQLAlchemy 2 typed mappings)."""


#: The Flask-SQLAlchemy extension, bound to an app by :func:`opsctl.demo.create_app`.
db = SQLAlchemy(model_class=Base)
