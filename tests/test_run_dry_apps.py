"""Dry runs beyond Flask-SQLAlchemy's session: connections and sessions the script opens on the
app's engines, an Alchemical app, engines kept in ``app.extensions`` or the config, and an app
with nothing opsctl can roll back (pallets' flaskr on ``sqlite3``)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from runkit import ledger, opsctl, seed_shop, write_project, write_script
from test_run_dry import SEEDED, snapshot

# Slow: apps beyond Flask-SQLAlchemy, each a real run.
pytestmark = pytest.mark.slow

#: The shop of runkit, its engines also kept where apps keep their own: a plain Engine in
#: app.extensions and one in the config.
ENGINES_APP = '''\
"""The shop, with its database also reached through engines of the app's own."""
from sqlalchemy import create_engine
from sqlalchemy.pool import NullPool

import shopapp


def create_app():
    app = shopapp.create_app()
    app.extensions["warehouse"] = create_engine(shopapp.DATABASE, poolclass=NullPool)
    app.config["REPORTING_ENGINE"] = create_engine(shopapp.DATABASE, poolclass=NullPool)
    return app
'''

ALCHEMICAL_APP = '''\
"""The shop on Alchemical instead of Flask-SQLAlchemy."""
from alchemical.flask import Alchemical
from flask import Flask
from sqlalchemy import Integer, String
from sqlalchemy.orm import mapped_column
from sqlalchemy.pool import NullPool

import shopapp

db = Alchemical()


class Item(db.Model):
    __tablename__ = "shop_item"
    id = mapped_column(Integer, primary_key=True)
    name = mapped_column(String(50), nullable=False)
    price = mapped_column(Integer, nullable=False)


def create_app():
    app = Flask(__name__)
    app.config["ALCHEMICAL_DATABASE_URL"] = shopapp.DATABASE
    app.config["ALCHEMICAL_ENGINE_OPTIONS"] = {"poolclass": NullPool}
    db.init_app(app)
    return app
'''

#: pallets' flaskr, reduced: the sqlite3 module, a connection on flask.g.
FLASKR_APP = '''\
"""flaskr's database: the sqlite3 module, one connection per app context on g."""
import sqlite3

from flask import Flask, current_app, g


def get_db():
    if "db" not in g:
        g.db = sqlite3.connect(current_app.config["DATABASE"])
    return g.db


def close_db(exc=None):
    db = g.pop("db", None)
    if db is not None:
        db.close()


def create_app():
    app = Flask(__name__)
    app.config["DATABASE"] = {path!r}
    app.teardown_appcontext(close_db)
    return app
'''

FLASKR_SCRIPT = '''\
"""Add a post."""
{marker}
from flaskr import get_db
from opsctl import current_run


def main():
    if current_run().dry_run and {honours}:
        print("would add a post")
        return
    db = get_db()
    db.execute("INSERT INTO post (title) VALUES ('hello')")
    db.commit()
'''


@pytest.fixture
def shop(tmp_path: Path, ledger_url: str) -> Path:
    project = write_project(tmp_path, ledger_url, app="engines:create_app",
                            database=ledger_url)
    (project / "engines.py").write_text(ENGINES_APP, encoding="utf-8")
    seed_shop(project)
    return project


def test_sessions_and_connections_the_script_opens_on_the_app_s_engines(
        shop: Path, ledger_url: str) -> None:
    write_script(shop, "recycle/engines", '''\
        """Change the shop through every engine the app holds, and commit each time."""
        from flask import current_app
        from sqlalchemy.orm import Session
        from opsctl import report
        from shopapp import AuditEntry, Item, db


        def main():
            with db.engine.begin() as conn:             # connections beside the session
                conn.execute(db.update(Item).where(Item.id == 2).values(price=202))
            with db.engines["audit"].connect() as conn:
                conn.execute(db.delete(AuditEntry))
                conn.commit()
            with current_app.config["REPORTING_ENGINE"].begin() as conn:
                conn.execute(db.insert(Item).values(id=9, name="yuzu", price=900))
            with Session(db.engine) as own:              # a session of the script's own
                own.get(Item, 1).price = 101
                own.commit()
            warehouse = current_app.extensions["warehouse"]
            with Session(warehouse) as other:            # an engine of the app's own
                other.get(Item, 3).price = 303
                other.commit()
                seen = other.get(Item, 3).price
            raw = db.session.connection().connection.dbapi_connection  # the session, untouched
            db.session.add(Item(id=4, name="kiwi", price=400))
            db.session.commit()
            leaked = db.engines["audit"].connect()       # never closed: rolled back at the end
            leaked.execute(db.update(AuditEntry).values(text="leaked"))
            leaked.commit()
            report(seen=seen, kiwi=db.session.get(Item, 4).name, raw=raw is not None)
        ''')
    result = opsctl(shop, "run", "--dry-run", "recycle/engines")
    assert result.returncode == 0, result.stderr
    assert "dry run: database changes rolled back" in result.stderr
    assert snapshot(shop) == SEEDED
    with ledger(ledger_url) as book:
        (run,) = book.runs("recycle/engines")
    assert run.status == "succeeded" and run.dry_run
    assert run.summary == {"seen": 303, "kiwi": "kiwi", "raw": True}
    # Four commits on connections of the script's own were withheld: the run says so.
    assert any("4 commits" in note and "withheld" in note for note in run.notes), run.notes


def test_an_autocommit_connection_is_refused(shop: Path, ledger_url: str) -> None:
    write_script(shop, "recycle/auto", '''\
        """Write through an AUTOCOMMIT connection: every statement would commit."""
        from shopapp import Item, db


        def main():
            with db.engine.execution_options(isolation_level="AUTOCOMMIT").connect() as conn:
                conn.execute(db.update(Item).where(Item.id == 1).values(price=1))
        ''')
    result = opsctl(shop, "run", "--dry-run", "recycle/auto")
    assert result.returncode == 1, result.stderr
    assert "Error: dry run: " in result.stderr and "AUTOCOMMIT" in result.stderr
    assert snapshot(shop) == SEEDED


@pytest.fixture
def alchemical_shop(tmp_path: Path, ledger_url: str) -> Path:
    project = write_project(tmp_path, ledger_url, app="alchemyapp:create_app",
                            database=ledger_url)
    (project / "alchemyapp.py").write_text(ALCHEMICAL_APP, encoding="utf-8")
    seed_shop(project)
    return project


def test_an_alchemical_app_is_rolled_back(alchemical_shop: Path, ledger_url: str) -> None:
    write_script(alchemical_shop, "recycle/alchemy", '''\
        """Change the shop through Alchemical's session and db.begin()."""
        from alchemyapp import Item, db
        from opsctl import report


        def main():
            db.session.add(Item(id=4, name="kiwi", price=400))
            db.session.get(Item, 1).price = 150
            db.session.commit()
            with db.begin() as session:
                session.get(Item, 2).price = 250
            names = sorted(i.name for i in db.session.scalars(Item.select()))
            report(names=names, pear=db.session.get(Item, 2).price)
        ''')
    result = opsctl(alchemical_shop, "run", "--dry-run", "recycle/alchemy")
    assert result.returncode == 0, result.stderr
    assert "dry run: database changes rolled back" in result.stderr
    assert snapshot(alchemical_shop) == SEEDED
    with ledger(ledger_url) as book:
        (run,) = book.runs("recycle/alchemy")
    assert run.status == "succeeded"
    assert run.summary == {"names": ["apple", "kiwi", "pear", "plum"], "pear": 250}
    # ...and the same script changes the database in a real run.
    assert opsctl(alchemical_shop, "run", "recycle/alchemy").returncode == 0
    assert snapshot(alchemical_shop)[0][0] == (1, "apple", 150)


@pytest.fixture
def flaskr(tmp_path: Path) -> tuple[Path, Path]:
    database = tmp_path / "flaskr.sqlite3"
    with sqlite3.connect(database) as conn:
        conn.execute("CREATE TABLE post (id INTEGER PRIMARY KEY, title TEXT)")
    project = write_project(tmp_path, f"sqlite:///{tmp_path / 'ledger.sqlite3'}",
                            app="flaskr:create_app")
    (project / "flaskr.py").write_text(FLASKR_APP.format(path=str(database)),
                                       encoding="utf-8")
    return project, database


def posts(database: Path) -> int:
    with sqlite3.connect(database) as conn:
        return int(conn.execute("SELECT count(*) FROM post").fetchone()[0])


def test_an_app_with_nothing_to_roll_back_refuses_a_dry_run(flaskr: tuple[Path, Path]) -> None:
    project, database = flaskr
    write_script(project, "recycle/post", FLASKR_SCRIPT.format(marker="", honours="False"))
    result = opsctl(project, "run", "--dry-run", "recycle/post")
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: --dry-run"), result.stderr
    assert "nothing opsctl can roll back" in lines[0]
    assert 'OPSCTL_DRY_RUN = "honoured"' in lines[0]
    assert posts(database) == 0
    with ledger(f"sqlite:///{project.parent / 'ledger.sqlite3'}") as book:
        assert book.runs("recycle/post") == []
    # A real run is not affected.
    assert opsctl(project, "run", "recycle/post").returncode == 0
    assert posts(database) == 1


def test_a_script_that_honours_the_flag_itself_may_dry_run(flaskr: tuple[Path, Path]) -> None:
    project, database = flaskr
    write_script(project, "recycle/post", FLASKR_SCRIPT.format(
        marker='OPSCTL_DRY_RUN = "honoured"', honours="True"))
    result = opsctl(project, "run", "--dry-run", "recycle/post")
    assert result.returncode == 0, result.stderr
    assert "would add a post" in result.stdout
    assert result.stderr.strip().splitlines()[-1] == (
        "opsctl: recycle/post succeeded (run 1, dry run honoured by the script: nothing "
        "rolled back by opsctl)")
    assert "database changes rolled back" not in result.stderr
    assert posts(database) == 0
    with ledger(f"sqlite:///{project.parent / 'ledger.sqlite3'}") as book:
        (run,) = book.runs("recycle/post")
    assert run.status == "succeeded" and run.dry_run
    assert run.notes[1:] == ("dry run honoured by the script: nothing rolled back by opsctl",)
    shown = opsctl(project, "history", "--run", str(run.id))
    assert "dry run honoured by the script: nothing rolled back by opsctl" in shown.stdout



#: Flask and a plain SQLAlchemy Engine, kept in app.extensions or in the config.
ENGINE_ONLY_APP = '''\
"""The shop's database through a plain Engine: no Flask-SQLAlchemy on this app."""
from flask import Flask
from sqlalchemy import create_engine
from sqlalchemy.pool import NullPool

import shopapp


def create_app(where):
    app = Flask(__name__)
    engine = create_engine(shopapp.DATABASE, poolclass=NullPool)
    if where == "extensions":
        app.extensions["shop"] = engine
    else:
        app.config["SHOP_ENGINE"] = engine
    return app
'''


@pytest.mark.parametrize("where", ["extensions", "config"])
def test_an_app_with_a_plain_engine_is_rolled_back(tmp_path: Path, where: str) -> None:
    url = f"sqlite:///{tmp_path / 'ledger.sqlite3'}"
    project = write_project(tmp_path, url, app=f"plainengine:create_app('{where}')",
                            database=url)
    (project / "plainengine.py").write_text(ENGINE_ONLY_APP, encoding="utf-8")
    seed_shop(project)
    write_script(project, "recycle/plain", '''\
        """Change the shop through the app's own engine."""
        from flask import current_app
        from sqlalchemy import text
        from sqlalchemy.orm import Session


        def main():
            engine = current_app.extensions.get("shop") or current_app.config["SHOP_ENGINE"]
            with Session(engine) as session:
                session.execute(text("UPDATE shop_item SET price = 1"))
                session.commit()
        ''')
    result = opsctl(project, "run", "--dry-run", "recycle/plain")
    assert result.returncode == 0, result.stderr
    assert "dry run: database changes rolled back" in result.stderr
    assert snapshot(project) == SEEDED
