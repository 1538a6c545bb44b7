"""What a dry run cannot undo: each entry of the README's list, shown to hold (or, where opsctl
finds it afterwards, shown to fail the run) on the databases it concerns."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from runkit import ledger, opsctl, project_module, seed_shop, write_project, write_script
from test_run_dry import SEEDED, snapshot
from test_run_dry_escapes import backend, on

# Slow: what a dry run cannot undo, each a real run.
pytestmark = pytest.mark.slow

def make_tally(project: Path) -> None:
    """A table of its own for the counter test, made in the app's database."""
    with project_module(project) as shopapp:
        app = shopapp.create_app()
        with app.app_context():
            tally = sa.Table("tally", sa.MetaData(),
                             sa.Column("id", sa.Integer, primary_key=True),
                             sa.Column("note", sa.String(20)))
            tally.create(shopapp.db.engine)
            shopapp.db.engine.dispose()


def on_database(project: Path, sql: str, *, commit: bool = False) -> list[tuple[object, ...]]:
    """Run ``sql`` on the shop's DATABASE (shopapp.py's) with a plain engine; its rows."""
    with project_module(project) as shopapp:
        engine = sa.create_engine(shopapp.DATABASE)
        try:
            with engine.begin() if commit else engine.connect() as conn:
                result = conn.execute(sa.text(sql))
                return [tuple(row) for row in result] if result.returns_rows else []
        finally:
            engine.dispose()


@pytest.fixture
def shop(tmp_path: Path, ledger_url: str) -> Path:
    project = write_project(tmp_path, ledger_url, app="shopapp:create_app",
                            database=ledger_url)
    seed_shop(project)
    return project


def run_dry(project: Path, body: str) -> tuple[int, str]:
    write_script(project, "recycle/limit", f'''\
"""Do something a dry run cannot undo."""
import os, sqlite3
from sqlalchemy import text
from shopapp import DATABASE, Item, db


def main():
    {body}
''')
    result = opsctl(project, "run", "--dry-run", "recycle/limit")
    return result.returncode, result.stderr


def test_counters_advance(shop: Path, ledger_url: str) -> None:
    make_tally(shop)
    code, err = run_dry(shop, 'db.session.execute(text("INSERT INTO tally (note) VALUES '
                              "('dry')\"))\n    db.session.commit()")
    assert code == 0, err
    with project_module(shop) as shopapp:
        app = shopapp.create_app()
        with app.app_context():
            with shopapp.db.engine.begin() as c:
                c.execute(sa.text("INSERT INTO tally (note) VALUES ('real')"))
                out = str(list(c.execute(sa.text("SELECT id, note FROM tally"))))
            shopapp.db.engine.dispose()
    # The dry run's row is gone; its id is used up on PostgreSQL and MariaDB (SQLite hands out
    # the largest rowid plus one, so nothing is skipped there).
    expected = 1 if backend(ledger_url) == "sqlite" else 2
    assert out.strip() == f"[({expected}, 'real')]"


@pytest.mark.parametrize("ledger_url", on(("mariadb",), id="myisam"), indirect=True)
def test_non_transactional_tables_are_found_and_fail_the_run(shop: Path,
                                                             ledger_url: str) -> None:
    on_database(shop, "CREATE TABLE memo (id INT PRIMARY KEY) ENGINE=MyISAM", commit=True)
    code, err = run_dry(shop, 'db.session.execute(text("INSERT INTO memo VALUES (1)"))\n'
                              '    db.session.get(Item, 1).price = 1\n'
                              '    db.session.commit()')
    assert code == 1, err
    assert "dry run escaped: changes may be committed" in err
    assert "non-transactional" in err
    assert "database changes rolled back" not in err
    with ledger(ledger_url) as book:
        (run,) = book.runs("recycle/limit")
    assert run.status == "failed" and "non-transactional" in (run.error or "")
    # The MyISAM row stays; the InnoDB change is rolled back.
    assert snapshot(shop) == SEEDED
    assert on_database(shop, "SELECT count(*) FROM memo") == [(1,)]


@pytest.mark.parametrize("ledger_url", on(("sqlite", "postgresql"), id="ddl"), indirect=True)
def test_ddl_is_rolled_back_where_the_database_can(shop: Path, ledger_url: str) -> None:
    code, err = run_dry(shop, 'db.session.execute(text("CREATE TABLE shop_extra (id INT)"))\n'
                              '    db.session.execute(text("DROP TABLE shop_item"))\n'
                              '    db.session.commit()')
    assert code == 0, err
    assert snapshot(shop) == SEEDED
    with project_module(shop) as shopapp:
        engine = sa.create_engine(shopapp.DATABASE)
        try:
            assert not sa.inspect(engine).has_table("shop_extra")
        finally:
            engine.dispose()


DRIVER_MODULE = {
    "sqlite": "conn = sqlite3.connect(DATABASE.removeprefix('sqlite:///'))\n",
    "postgresql": "import psycopg\n"
                  "    conn = psycopg.connect(DATABASE.replace('postgresql+psycopg', "
                  "'postgresql'))\n",
    "mariadb": "import pymysql\n"
               "    from sqlalchemy.engine import make_url\n"
               "    u = make_url(DATABASE)\n"
               "    conn = pymysql.connect(host=u.host, port=u.port, user=u.username, "
               "database=u.database)\n",
}


def test_a_driver_connection_of_the_script_s_own_commits(shop: Path, ledger_url: str) -> None:
    """The database module used directly: opsctl never sees that connection."""
    code, err = run_dry(shop, DRIVER_MODULE[backend(ledger_url)] +
                        "    conn.cursor().execute('UPDATE shop_item SET price = 1 WHERE id = 1')\n"
                        "    conn.commit()\n"
                        "    conn.close()")
    assert code == 0, err
    assert snapshot(shop)[0][0] == (1, "apple", 1)


def test_the_driver_connection_of_an_engine_connection_commits(shop: Path) -> None:
    """engine.raw_connection(): a driver connection beside the session, handed out as is."""
    code, err = run_dry(shop, "raw = db.engine.raw_connection()\n"
                              "    raw.cursor().execute('UPDATE shop_item SET price = 1 "
                              "WHERE id = 1')\n"
                              "    raw.commit()\n"
                              "    raw.close()")
    assert code == 0, err
    assert snapshot(shop)[0][0] == (1, "apple", 1)


def test_what_happens_outside_the_database_stays(shop: Path) -> None:
    code, err = run_dry(shop, "open('sent.txt', 'w').write('mail sent')")
    assert code == 0, err
    assert (shop / "sent.txt").read_text() == "mail sent"
