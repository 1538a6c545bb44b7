"""The demo's Flask-SQLAlchemy extension object, apart from the app factory so the models,
views and seed import it without importing the package that imports them (Flask's own
``extensions.py`` pattern)."""

from __future__ import annotations

from flask_sqlalchemy import SQLAlchemy

#: The Flask-SQLAlchemy extension, bound to an app by :func:`opsctl.demo.create_app`. Its
#: default model class takes SQLAlchemy 2's typed mappings (``Mapped``) on every
#: Flask-SQLAlchemy opsctl supports, 3.0 included (``model_class=DeclarativeBase`` needs 3.1).
db = SQLAlchemy()
