"""A dry run never commits: every way out of its transaction through the app's session is
refused when it is attempted, or found afterwards and recorded as a failed run, never as a
rolled-back success. Each case runs on SQLite, PostgreSQL and MariaDB, and the database is read
afterwards from another process."""

from __future__ import annotations

from pathlib import Path

import pytest
from runkit import ledger, opsctl, seed_shop, write_project, write_script
from test_run_dry import SEEDED, snapshot

# Slow: every way out of a dry run, each a real run.
pytestmark = pytest.mark.slow

#: The change every escape below tries to make permanent.
CHANGE = "db.session.get(Item, 1).price = 1\n    db.session.flush()"

#: (id, what the script does after the change, which databases, words of the one-line error)
REFUSED = [
    ("connection-commit", "conn = db.session.connection()\n"
     "    conn.execute(db.update(Item).where(Item.id == 2).values(price=2))\n"
     "    conn.commit()", None, "Connection.commit() on the session's connection"),
    ("connection-rollback", "db.session.connection().rollback()", None,
     "Connection.rollback() on the session's connection"),
    ("statement-commit", 'db.session.execute(text("COMMIT"))', None, "COMMIT"),
    ("statement-end", 'db.session.execute(text("END"))', ("sqlite", "postgresql"), "END"),
    ("statement-rollback", 'db.session.execute(text("ROLLBACK"))', None, "ROLLBACK"),
    ("statement-begin", 'db.session.execute(text("BEGIN"))', None, "BEGIN"),
    ("statement-commented", 'db.session.execute(text("/* done */ commit -- now"))', None,
     "COMMIT"),
    ("start-transaction", 'db.session.execute(text("START TRANSACTION"))', ("mariadb",),
     "START TRANSACTION"),
    ("set-autocommit", 'db.session.execute(text("SET autocommit=1"))', ("mariadb",),
     "SET AUTOCOMMIT"),
    ("mysql-ddl", 'db.session.execute(text("CREATE TABLE shop_extra (id INT)"))',
     ("mariadb",), "CREATE TABLE commits implicitly"),
    ("mysql-truncate", 'db.session.execute(text("TRUNCATE TABLE shop_audit"))',
     ("mariadb",), "TRUNCATE TABLE commits implicitly"),
    ("driver-commit", "db.session.connection().connection.dbapi_connection.commit()", None,
     "commit() on the driver connection under the session"),
    ("driver-commit-fairy", "db.session.connection().connection.commit()", None,
     "commit() on the driver connection under the session"),
    ("driver-rollback", "db.session.connection().connection.driver_connection.rollback()",
     None, "rollback() on the driver connection under the session"),
    ("driver-execute", 'db.session.connection().connection.driver_connection.execute("COMMIT")',
     ("sqlite", "postgresql"), "COMMIT"),
    ("sqlite-isolation", "db.session.connection().connection.driver_connection"
     ".isolation_level = None", ("sqlite",), "autocommit"),
    ("sqlite-executescript", "db.session.connection().connection.driver_connection"
     ".executescript('SELECT 1')", ("sqlite",), "executescript()"),
    ("psycopg-autocommit", "db.session.connection().connection.driver_connection"
     ".autocommit = True", ("postgresql",), "autocommit"),
    ("pymysql-autocommit", "db.session.connection().connection.driver_connection"
     ".autocommit(True)", ("mariadb",), "autocommit"),
    ("pymysql-begin", "db.session.connection().connection.driver_connection.begin()",
     ("mariadb",), "begin()"),
]


BACKENDS = ("sqlite", "postgresql", "mariadb")


def on(backends: tuple[str, ...] | None, *values: object, id: str) -> list[object]:
    """``values`` as parameters for each of ``backends`` (all three when None); the server
    databases are slow, as in conftest's ``ledger_url``."""
    return [pytest.param(b, *values, id=f"{b}-{id}",
                         marks=[pytest.mark.slow] if b != "sqlite" else [])
            for b in backends or BACKENDS]


def backend(url: str) -> str:
    return "sqlite" if url.startswith("sqlite") else \
        "postgresql" if url.startswith("postgresql") else "mariadb"


@pytest.fixture
def shop(tmp_path: Path, ledger_url: str) -> Path:
    project = write_project(tmp_path, ledger_url, app="shopapp:create_app",
                            database=ledger_url)
    seed_shop(project)
    return project


def escape_script(project: Path, body: str, *, catch: bool = False) -> None:
    if catch:
        body = f"try:\n        {body.replace(chr(10), chr(10) + '    ')}\n" \
               "    except Exception as exc:\n        print('caught', type(exc).__name__)"
    write_script(project, "recycle/escape", f'''\
"""Try to make a dry run's change permanent."""
import warnings

from sqlalchemy import text
from shopapp import Item, db

warnings.simplefilter("ignore")  # SQLAlchemy warns about some of these; the test reads stderr


def main():
    {CHANGE}
    {body}
    db.session.commit()
''')


@pytest.mark.parametrize(("ledger_url", "body", "words"),
                         [p for i, b, w, s in REFUSED for p in on(w, b, s, id=i)],
                         indirect=["ledger_url"])
def test_an_escape_is_refused_where_it_is_attempted(shop: Path, ledger_url: str, body: str,
                                                    words: str) -> None:
    escape_script(shop, body)
    result = opsctl(shop, "run", "--dry-run", "recycle/escape")
    assert result.returncode == 1, result.stderr
    assert snapshot(shop) == SEEDED
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error: ")]
    assert len(errors) == 1, result.stderr
    assert errors[0].startswith("Error: dry run: ") and words in errors[0], result.stderr
    assert "refused" in errors[0] and "Traceback" not in result.stderr
    assert "escaped" not in result.stderr
    with ledger(ledger_url) as book:
        (run,) = book.runs("recycle/escape")
    assert run.status == "failed" and run.dry_run
    assert words in (run.error or "")


def test_a_refusal_the_script_catches_still_fails_the_run(shop: Path, ledger_url: str) -> None:
    escape_script(shop, "db.session.connection().commit()", catch=True)
    # The script goes on after the refusal: the session is unusable, so its commit fails too;
    # either way the run is failed, and nothing is committed.
    result = opsctl(shop, "run", "--dry-run", "recycle/escape")
    assert "caught DryRunRefused" in result.stdout, result.stderr
    assert result.returncode == 1
    assert snapshot(shop) == SEEDED
    with ledger(ledger_url) as book:
        (run,) = book.runs("recycle/escape")
    assert run.status == "failed"
    assert "Connection.commit() on the session's connection" in (run.error or "")


def test_get_bind_is_the_engine_as_in_a_real_run(shop: Path, ledger_url: str) -> None:
    write_script(shop, "recycle/bind", '''\
        """What the session's bind is, and its commit()."""
        from shopapp import Item, db


        def main():
            bind = db.session.get_bind()
            print("bind", type(bind).__name__)
            db.session.get(Item, 1).price = 1
            db.session.flush()
            bind.commit()
        ''')
    real = opsctl(shop, "run", "recycle/bind")
    dry = opsctl(shop, "run", "--dry-run", "recycle/bind")
    assert "bind Engine" in real.stdout and "bind Engine" in dry.stdout, dry.stderr
    # The same failure in both: an Engine has no commit().
    for result in (real, dry):
        assert result.returncode == 1
        assert "AttributeError: 'Engine' object has no attribute 'commit'" in result.stderr
    assert snapshot(shop) == SEEDED
    with ledger(ledger_url) as book:
        runs = book.runs("recycle/bind")
    assert [r.status for r in runs] == ["failed", "failed"]


def test_a_commit_under_the_driver_s_cursor_is_found_afterwards(shop: Path,
                                                                ledger_url: str) -> None:
    """The one way out opsctl cannot stop where it happens: the driver connection reached
    through a driver cursor. The outer transaction is gone at the end: the run fails."""
    escape_script(shop, "raw = db.session.connection().connection.cursor()\n"
                        "    raw.connection.commit()")
    result = opsctl(shop, "run", "--dry-run", "recycle/escape")
    assert result.returncode == 1, result.stderr
    assert "dry run escaped: changes may be committed" in result.stderr
    assert "rolled back" not in result.stderr
    with ledger(ledger_url) as book:
        (run,) = book.runs("recycle/escape")
    assert run.status == "failed" and run.dry_run
    assert "dry run escaped: changes may be committed" in (run.error or "")
    assert any("dry run escaped" in note for note in run.notes)
    # What it says happened did: the change is in the database.
    assert snapshot(shop) != SEEDED
