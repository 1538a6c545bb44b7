"""Secrets never reach the ledger: scripts that leak each kind of secret are run for real, then
the raw ledger (every table, every column, read with plain SQL; for SQLite also the database
file's bytes) is searched for the secret bytes, on SQLite, PostgreSQL and MariaDB.

The leaks: a Click option by every name and form (``-p x``, ``-px``, ``--password=x``, a
``hide_input`` option), the secret words of plain arguments (``--apikey``, ``--pass``,
``--pwd``, ``--auth "Bearer ..."``, ``--credentials``, ``--key``, ``--dsn``), URLs with a
password in arguments, reason, summary, error and output, ``PASSWORD=`` arguments, an
SQLAlchemy ``IntegrityError`` quoting a token (parameters, PostgreSQL's ``DETAIL``, MySQL's
``Duplicate entry``), the app's ``SECRET_KEY``, secret-like configuration, a database
password and a secret-like environment variable printed, and a script whose import raises.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from runkit import opsctl, write_project, write_script

# Slow: every leak, run for real, then every table and column searched.
pytestmark = pytest.mark.slow

LEAK_APP = '''\
"""An app with secrets of its own."""
from flask import Flask
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy.pool import NullPool

DATABASE = {database!r}
db = SQLAlchemy()


class Leak(db.Model):
    __tablename__ = "leak_token"
    id = db.Column(db.Integer, primary_key=True)
    token = db.Column(db.String(64), unique=True, nullable=False)
    name = db.Column(db.String(20), nullable=False)


def create_app():
    app = Flask("leakapp")
    app.config["SECRET_KEY"] = "App-Secret-Key-0001"
    app.config["STRIPE_API_KEY"] = "sk_live_AppConfig0002"
    app.config["SQLALCHEMY_DATABASE_URI"] = DATABASE
    # Never connected to: its password is only ever printed.
    app.config["SQLALCHEMY_BINDS"] = {{
        "reports": "postgresql+psycopg://reporter:App-Db-Pw-0003@127.0.0.1:1/reports"}}
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {{"poolclass": NullPool}}
    db.init_app(app)
    with app.app_context():
        db.create_all(bind_key=None)
    return app
'''

CLICK_LEAK = '''\
"""Take a password by every name."""
import click
from opsctl import report


@click.command()
@click.option("-p", "--password", multiple=True)
@click.option("--phrase", hide_input=True)
@click.option("--database-url")
@click.option("--limit", type=int, default=1)
def main(password, phrase, database_url, limit):
    report(limit=limit)
'''

PLAIN = '''\
"""Take any arguments."""


def main():
    pass
'''

LEAKY = '''\
"""Print and report every secret the app has, then fail."""
import os

from flask import current_app
from leakapp import db
from opsctl import report


def main():
    print("connecting to redis://:Output-Pw-0019@cache:6379/0")
    print("secret key", current_app.config["SECRET_KEY"])
    print("stripe", current_app.config["STRIPE_API_KEY"])
    print("db password", db.engines["reports"].url.password)
    print("env token", os.environ["SHOP_API_TOKEN"])
    report(source="postgresql://u:Summary-Pw-0020@h/db", api_key="Summary-Key-0021", rows=3)
    raise RuntimeError("cannot reach postgresql://u:Error-Pw-0022@h/db")
'''

INTEGRITY = '''\
"""Insert a token the database refuses ({how})."""
from leakapp import Leak, db


def main():
    token = "-".join(["Param", "Token", "{number}"])  # the value is in no source line
    try:
        db.session.add_all({rows})
        db.session.commit()
    except Exception as exc:
        print(exc)
        raise
'''

IMPORT_LEAK = '''\
"""Fail on import, quoting secrets."""
from flask import current_app

raise RuntimeError("import: postgresql://u:Import-Pw-0026@h/db, key "
                   + current_app.config["SECRET_KEY"])
'''

#: Every secret the scripts leak; none may be found in the ledger.
SECRETS = [
    "App-Secret-Key-0001", "sk_live_AppConfig0002", "App-Db-Pw-0003",
    "Opt-Short-Sep-0004", "Opt-Short-Att-0005", "Opt-Long-Eq-0006", "Opt-Long-Sep-0007",
    "Opt-Hidden-0008", "Url-Opt-Pw-0009",
    "Api-Key-0010", "Pass-0011", "Pwd-0012", "Bearer-Tok-0013", "Cred-0014", "Key-0015",
    "Dsn-Pw-0016", "Dburl-Pw-0017", "Plain-Url-Pw-0018", "Kv-Pw-0028", "After-Dash-0029",
    "Reason-Pw-0030",
    "Output-Pw-0019", "Summary-Pw-0020", "Summary-Key-0021", "Error-Pw-0022", "Env-Token-0023",
    "Param-Token-0024", "Param-Token-0025",
    "Import-Pw-0026", "Import-Arg-0027",
]


def leak_project(tmp_path: Path, ledger_url: str) -> Path:
    project = write_project(tmp_path, ledger_url, app="leakapp:create_app()")
    database = f"sqlite:///{tmp_path / 'app.sqlite3'}" if ledger_url.startswith("sqlite") \
        else ledger_url  # a server's test database holds the app's table beside the ledger
    (project / "leakapp.py").write_text(LEAK_APP.format(database=database), encoding="utf-8")
    write_script(project, "recycle/click_leak", CLICK_LEAK)
    write_script(project, "recycle/plain_leak", PLAIN)
    write_script(project, "recycle/leaky", LEAKY)
    write_script(project, "recycle/unique_leak", INTEGRITY.format(
        how="a duplicate", number="0024",
        rows='[Leak(token=token, name="a"), Leak(token=token, name="b")]'))
    write_script(project, "recycle/null_leak", INTEGRITY.format(
        how="a missing name", number="0025", rows="[Leak(token=token, name=None)]"))
    write_script(project, "recycle/import_leak", IMPORT_LEAK)
    return project


def raw_values(ledger_url: str) -> Iterator[tuple[str, str, str]]:
    """Every value of every column of every table in the ledger's database, as text."""
    engine = sa.create_engine(ledger_url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            quote = engine.dialect.identifier_preparer.quote
            for table in sa.inspect(conn).get_table_names():
                result = conn.exec_driver_sql(f"SELECT * FROM {quote(table)}")
                columns = list(result.keys())
                for row in result:
                    for column, value in zip(columns, row, strict=True):
                        if isinstance(value, bytes):
                            value = value.decode("utf-8", "replace")
                        yield table, column, "" if value is None else str(value)
    finally:
        engine.dispose()


def test_no_secret_reaches_the_ledger(tmp_path: Path, ledger_url: str) -> None:
    project = leak_project(tmp_path, ledger_url)
    settings = {"SHOP_API_TOKEN": "Env-Token-0023"}

    clicked = opsctl(project, "run", "recycle/click_leak",
                     "-p", "Opt-Short-Sep-0004", "-pOpt-Short-Att-0005",
                     "--password=Opt-Long-Eq-0006", "--password", "Opt-Long-Sep-0007",
                     "--phrase", "Opt-Hidden-0008",
                     "--database-url", "postgresql://u:Url-Opt-Pw-0009@h/db", "--limit", "2",
                     **settings)
    assert clicked.returncode == 0, clicked.stderr
    plain = opsctl(project, "run", "--reason", "copy from postgresql://ops:Reason-Pw-0030@db/x",
                   "recycle/plain_leak", "--apikey", "Api-Key-0010", "--pass", "Pass-0011",
                   "--pwd", "Pwd-0012", "--auth", "Bearer Bearer-Tok-0013",
                   "--credentials", "Cred-0014", "--key", "Key-0015",
                   "--dsn", "postgresql://u:Dsn-Pw-0016@h/db",
                   "--database-url", "postgresql://u:Dburl-Pw-0017@h/db",
                   "mysql://u:Plain-Url-Pw-0018@h/db", "PASSWORD=Kv-Pw-0028",
                   "--", "--token", "After-Dash-0029", "--days", "3", **settings)
    assert plain.returncode == 0, plain.stderr
    leaky = opsctl(project, "run", "recycle/leaky", **settings)
    assert leaky.returncode == 1, leaky.stderr
    assert "Env-Token-0023" in leaky.stdout  # it did leak, to the terminal
    for name in ("recycle/unique_leak", "recycle/null_leak"):
        refused = opsctl(project, "run", name, **settings)
        assert refused.returncode == 1, refused.stderr
        assert "IntegrityError" in refused.stderr
    imported = opsctl(project, "run", "recycle/import_leak", "--password", "Import-Arg-0027",
                      **settings)
    assert imported.returncode == 1, imported.stderr

    values = list(raw_values(ledger_url))
    leaks = [(table, column, secret) for table, column, text in values
             for secret in SECRETS if secret in text]
    assert leaks == []
    if ledger_url.startswith("sqlite:///"):
        path = Path(ledger_url.removeprefix("sqlite:///"))
        for file in [path, *path.parent.glob(path.name + "-*")]:  # -wal, -shm, -journal
            data = file.read_bytes()
            assert [s for s in SECRETS if s.encode() in data] == [], file

    # What was stored is still there, secrets masked.
    runs = {v[2]: v for v in values if v[:2] == ("opsctl_runs", "script")}
    assert len(runs) == 6
    args = {json.dumps(json.loads(text)) for table, column, text in values
            if (table, column) == ("opsctl_runs", "args")}
    assert json.dumps(["-p", "***", "-p***", "--password=***", "--password", "***", "--phrase",
                       "***", "--database-url", "postgresql://u:***@h/db", "--limit",
                       "2"]) in args
    assert json.dumps(["--apikey", "***", "--pass", "***", "--pwd", "***", "--auth", "***",
                       "--credentials", "***", "--key", "***", "--dsn", "***",
                       "--database-url", "postgresql://u:***@h/db", "mysql://u:***@h/db",
                       "PASSWORD=***", "--", "--token", "***", "--days", "3"]) in args
    texts = "\n".join(text for _, _, text in values)
    for kept in ("copy from postgresql://ops:***@db/x", "connecting to redis://:***@cache",
                 "secret key ***", "env token ***", "postgresql://u:***@h/db",
                 "[parameters: hidden by opsctl]", "RuntimeError: cannot reach",
                 "IntegrityError", "import: postgresql://u:***@h/db, key ***"):
        assert kept in texts, kept

    shown = opsctl(project, "history", "--json")
    assert shown.returncode == 0, shown.stderr
    assert [s for s in SECRETS if s in shown.stdout] == []


@pytest.mark.parametrize("where", ["pyproject", "environment"])
def test_keep_output_false_keeps_no_output_tail(tmp_path: Path, where: str) -> None:
    url = f"sqlite:///{tmp_path / 'ledger.sqlite3'}"
    project = write_project(tmp_path, url,
                            extra="keep_output = false\n" if where == "pyproject" else "")
    write_script(project, "recycle/talk", '"""Talk."""\n\n\ndef main():\n'
                                          '    print("said aloud")\n')
    settings = {"OPSCTL_KEEP_OUTPUT": "false"} if where == "environment" else {}
    result = opsctl(project, "run", "recycle/talk", **settings)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "said aloud\n"  # the terminal still gets it
    tails = [text for table, column, text in raw_values(url)
             if (table, column) == ("opsctl_runs", "output_tail")]
    assert tails == [""]  # NULL
    path = Path(url.removeprefix("sqlite:///"))
    for file in [path, *path.parent.glob(path.name + "-*")]:
        assert b"said aloud" not in file.read_bytes(), file


def test_what_a_secret_option_was_given_is_masked_wherever_it_appears(tmp_path: Path) -> None:
    """From an environment variable or a default too, and in a cluster of short options,
    which the redaction of arguments alone would miss."""
    url = f"sqlite:///{tmp_path / 'ledger.sqlite3'}"
    project = write_project(tmp_path, url)
    write_script(project, "recycle/echo", '''\
"""Print what the secret options were given."""
import click


@click.command()
@click.option("--password", envvar="SCRIPT_INPUT_X")
@click.option("--token", default="Default-Tok-0040")
@click.option("-v", "--verbose", is_flag=True)
@click.option("-s", "--secret")
def main(password, token, verbose, secret):
    print("given", password, token, secret)
''')
    result = opsctl(project, "run", "recycle/echo", "-vsCluster-Sec-0043",
                    SCRIPT_INPUT_X="Env-Given-0044")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "given Env-Given-0044 Default-Tok-0040 Cluster-Sec-0043\n"
    values = [(column, text) for table, column, text in raw_values(url)
              if table == "opsctl_runs" and column in ("args", "output_tail")]
    assert sorted(values) == [("args", '["-vs***"]'),
                              ("output_tail", "given *** *** ***\n")]


JOURNAL_LEAK = '''\
"""Wait for the ledger to go away, then leak."""
import os
import time
from pathlib import Path

from flask import current_app
from opsctl import report


def main():
    here = Path({folder!r})
    (here / "started").write_text(str(os.getpid()))
    deadline = time.monotonic() + 60
    while not (here / "release").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    print("key", current_app.config["SECRET_KEY"], "token", os.environ["SHOP_API_TOKEN"])
    report(source="postgresql://u:Summary-Pw-0020@h/db")
    raise RuntimeError("cannot reach postgresql://u:Error-Pw-0022@h/db")
'''


@pytest.mark.slow  # a PostgreSQL server of the test's own, stopped mid-run
def test_an_end_kept_in_the_local_journal_is_scrubbed_too(tmp_path: Path) -> None:
    """The end of a run the ledger cannot take goes to a file under instance/: it holds what
    the ledger would have, scrubbed the same way, and so does the row it becomes."""
    from pgserver import PgServer
    from runkit import spawned, wait_for

    server = PgServer()
    try:
        server.start()
        project = write_project(tmp_path, server.url, app="leakapp:create_app()")
        (project / "leakapp.py").write_text(
            LEAK_APP.format(database=f"sqlite:///{tmp_path / 'app.sqlite3'}"), encoding="utf-8")
        signals = tmp_path / "signals"
        signals.mkdir()
        write_script(project, "recycle/journal_leak", JOURNAL_LEAK.format(folder=str(signals)))
        with spawned(project, "run", "--reason", "from postgresql://u:Reason-Pw-0030@db/x",
                     "recycle/journal_leak", "--password", "Opt-Long-Sep-0007",
                     OPSCTL_LEDGER_RETRY_SECONDS="1", SHOP_API_TOKEN="Env-Token-0023") as proc:
            wait_for(lambda: (signals / "started").exists() or proc.poll() is not None,
                     what="the script's start")
            server.stop()
            (signals / "release").touch()
            out, err = proc.communicate(timeout=120)
        assert proc.returncode == 1, err
        assert "it is kept in the local journal" in err, err
        (kept,) = sorted((project / "instance" / "opsctl-journal").glob("*.json"))
        data = kept.read_text(encoding="utf-8")
        assert [s for s in SECRETS if s in data] == []
        assert "key *** token ***" in data and "postgresql://u:***@h/db" in data

        server.start()
        replayed = opsctl(project, "history", "--json")
        assert replayed.returncode == 0, replayed.stderr
        assert "from the local journal" in replayed.stderr
        values = list(raw_values(server.url))
        assert [(t, c, s) for t, c, text in values for s in SECRETS if s in text] == []
        (run,) = json.loads(replayed.stdout)
        assert run["status"] == "failed" and run["output_tail"].startswith("key *** token ***")
        assert run["reason"] == "from postgresql://u:***@db/x"
        assert run["args"] == ["--password", "***"]
    finally:
        server.remove()
