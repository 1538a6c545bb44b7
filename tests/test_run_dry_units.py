"""What a dry run refuses, statement by statement and database by database, without a
database: :mod:`opsctl.run.drydb`, and where opsctl looks for databases it can roll back."""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import create_engine
from sqlalchemy.orm import sessionmaker

from opsctl.run.drydb import database
from opsctl.run.dryrun import databases_of

REFUSED = [
    ("sqlite", "COMMIT"), ("sqlite", "commit transaction"), ("sqlite", "END"),
    ("sqlite", "ROLLBACK"), ("sqlite", "BEGIN IMMEDIATE"),
    ("postgresql", "ABORT"), ("postgresql", "END WORK"), ("postgresql", "COMMIT AND CHAIN"),
    ("postgresql", "PREPARE TRANSACTION 'x'"), ("postgresql", "COMMIT PREPARED 'x'"),
    ("postgresql", "START TRANSACTION ISOLATION LEVEL SERIALIZABLE"),
    ("postgresql", "UPDATE t SET a = 1; COMMIT"), ("postgresql", "-- why\nCOMMIT"),
    ("mysql", "XA START 'x'"), ("mysql", "SET SESSION autocommit = 1"),
    ("mysql", "SET @@autocommit := 1"), ("mysql", "set autocommit=ON"),
    ("mysql", "ALTER TABLE t ADD c INT"), ("mysql", "DROP TABLE t"),
    ("mysql", "RENAME TABLE a TO b"), ("mysql", "LOCK TABLES t WRITE"),
    ("mysql", "UNLOCK TABLES"), ("mysql", "GRANT SELECT ON t TO u"),
    ("mysql", "ANALYZE TABLE t"), ("mysql", "OPTIMIZE TABLE t"), ("mysql", "FLUSH TABLES"),
    ("mysql", "CHECK TABLE t"), ("mysql", "REPAIR TABLE t"), ("mysql", "RESET QUERY CACHE"),
    ("mysql", "REVOKE SELECT ON t FROM u"),
    ("mysql", "CREATE INDEX i ON t (a)"), ("mysql", "LOAD INDEX INTO CACHE t"),
    ("mysql", "SET PASSWORD = 'x'"), ("mariadb", "TRUNCATE t"),
    ("mysql", "# a note\nCREATE TABLE t (a INT)"),
]

ALLOWED = [
    ("sqlite", "SAVEPOINT sa_savepoint_1"), ("sqlite", "RELEASE SAVEPOINT sa_savepoint_1"),
    ("sqlite", "ROLLBACK TO SAVEPOINT sa_savepoint_1"), ("sqlite", "CREATE TABLE t (a)"),
    ("postgresql", "ROLLBACK TRANSACTION TO SAVEPOINT s"), ("postgresql", "DROP TABLE t"),
    ("postgresql", "SELECT 'COMMIT'"), ("postgresql", "UPDATE t SET a = '; COMMIT'"),
    ("postgresql", "DO $$BEGIN PERFORM 1; END$$"), ("postgresql", "SELECT 1 # 2"),
    ("postgresql", "LOCK TABLE t"), ("postgresql", 'SELECT "commit" FROM t'),
    ("mysql", "CREATE TEMPORARY TABLE t (a INT)"), ("mysql", "DROP TEMPORARY TABLE t"),
    ("mysql", "SELECT 'it''s; COMMIT'"), ("mysql", r"SELECT 'a\'; COMMIT'"),
    ("mysql", "SELECT `commit` FROM t"), ("mysql", "INSERT INTO t VALUES (1)"),
    ("mysql", "SET autocommit_x = 1"), ("mysql", "SELECT 1 -- ; COMMIT"),
]


@pytest.mark.parametrize(("dialect", "sql"), REFUSED)
def test_statements_that_leave_the_transaction_are_refused(dialect: str, sql: str) -> None:
    assert database(dialect).refusal(sql) is not None


@pytest.mark.parametrize(("dialect", "sql"), ALLOWED)
def test_statements_inside_the_transaction_are_not(dialect: str, sql: str) -> None:
    assert database(dialect).refusal(sql) is None


def test_where_an_app_keeps_databases_opsctl_finds() -> None:
    app = Flask(__name__)
    assert databases_of(app) == []
    engine = create_engine("sqlite://")
    app.extensions["store"] = engine
    app.config["REPORTS"] = sessionmaker(bind=engine)

    class Holder:
        def __init__(self) -> None:
            self.engines = {None: engine}

        @property
        def engine(self) -> object:  # a property is never read: it could do work
            raise AssertionError("read")

    app.extensions["holder"] = Holder()
    assert databases_of(app) == ["app.extensions['store']", "app.extensions['holder']",
                                 "app.config['REPORTS']"]
