"""The ledger's own SQLAlchemy engine: from a ``ledger_url`` to an engine with its database's
:class:`~.backend.Backend`, and what is wrong with a URL or a database, in words.

The engine is the ledger's alone, never the application's, so a script's rollback can never
lose a ledger row.
"""

from __future__ import annotations

import sqlalchemy as sa

from ..errors import LedgerUnreachable
from .backend import Backend
from .facts import FIX_URL
from .mysql import MySQL
from .postgresql import PostgreSQL
from .sqlite import SQLite

_BACKENDS: dict[str, Backend] = {
    name: b for b in (SQLite(), PostgreSQL(), MySQL("mysql"), MySQL("mariadb"))
    for name in (b.name, *b.aliases)}
_GENERIC = Backend()


def backend_for(name: str) -> Backend:
    """The backend of a SQLAlchemy backend (dialect) name; the generic one for the rest."""
    return _BACKENDS.get(name, _GENERIC)


def display_url(url: str) -> str:
    """The URL with any password hidden, for messages."""
    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except Exception:  # an unparsable URL is shown as the user wrote it, minus nothing secret
        return url.split("@")[-1] if "@" in url else url


def unreachable_message(url: str, exc: BaseException) -> str:
    """``the run ledger at URL is unreachable (<the driver's first line>)``."""
    detail = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    first = detail[0] if detail else type(exc).__name__
    return f"the run ledger at {display_url(url)} is unreachable ({first})"


def normal_url(url: str) -> sa.engine.URL:
    """``url`` parsed, its database named as SQLAlchemy names it (``postgres://`` is
    ``postgresql://``); the driver, when it names one, kept."""
    parsed = sa.engine.make_url(url)
    name, plus, driver = parsed.drivername.partition("+")
    backend = backend_for(name)
    if backend.name and name != backend.name:
        parsed = parsed.set(drivername=backend.name + plus + driver)
    return parsed


def driver_url(url: str) -> sa.engine.URL:
    """The URL with a driver that is installed, when it names none: ``postgresql://`` is
    psycopg 3 or psycopg2 (an app that talks to PostgreSQL already has one), ``mysql://``
    mysqlclient or PyMySQL. A driver the URL names is kept."""
    import importlib.util

    parsed = normal_url(url)
    backend = backend_for(parsed.drivername)
    if "+" in parsed.drivername or not backend.drivers:
        return parsed
    installed = [d for m, d in backend.drivers if importlib.util.find_spec(m) is not None]
    extra = backend.extra[1] if backend.extra else None
    fallback = [d for m, d in backend.drivers if m == extra]
    chosen = (installed or fallback or [parsed.drivername])[0]
    return parsed.set(drivername=chosen)


def same_database(url: str, other: str) -> bool:
    """Whether two URLs name one database (one SQLite file; one database on one server),
    whatever their drivers, users or spelling."""
    try:
        first, second = normal_url(url), normal_url(other)
    except sa.exc.ArgumentError:
        return False
    (backend, kind), (_, other_kind) = _kind(first), _kind(second)
    if kind != other_kind:
        return False
    key = backend.database_key(first)
    return key is not None and key == backend.database_key(second)


def _kind(url: sa.engine.URL) -> tuple[Backend, object]:
    """A URL's backend, and what kind of database it is: MySQL and MariaDB are one kind."""
    name = url.drivername.partition("+")[0]
    backend = backend_for(name)
    return backend, name if backend is _GENERIC else type(backend)


def make_engine(url: str) -> sa.engine.Engine:
    """The ledger's engine (nothing connects yet); what is wrong with the URL, in words."""
    try:
        engine_url = driver_url(url)
    except sa.exc.ArgumentError:
        raise LedgerUnreachable(
            f"the ledger_url {url!r} is not a database URL (e.g. sqlite:///instance/"
            "opsctl.sqlite3, postgresql+psycopg://user@host/db)", FIX_URL) from None
    backend = backend_for(engine_url.get_backend_name())
    try:
        engine = sa.create_engine(engine_url, **backend.engine_options(engine_url))
    except ImportError as exc:  # the dialect is known, its driver is not installed
        missing = exc.name or engine_url.get_driver_name()
        where = f"the run ledger at {display_url(url)} needs the {missing} driver, which is " \
                "not installed"
        if backend.extra is None:
            raise LedgerUnreachable(where, f"pip install {missing}") from None
        extra, module = backend.extra
        install = f'pip install "opsctl[{extra}]"'
        if missing != module:  # a driver the extra does not bring, named in the URL
            install += f" and write the URL as {backend.name}+{module}://..., or install " \
                       f"{missing}"
        raise LedgerUnreachable(where, install) from None
    except sa.exc.NoSuchModuleError:
        raise LedgerUnreachable(
            f"the ledger_url {display_url(url)!r} names a database SQLAlchemy does not know "
            f"({engine_url.drivername})", FIX_URL) from None
    except Exception as exc:  # options the driver rejects, and the like
        raise LedgerUnreachable(unreachable_message(url, exc), FIX_URL) from None
    backend.configure(engine)
    return engine
