"""The PostgreSQL wire client ``list`` reads last runs with (:mod:`opsctl.ledger.pgwire`): the
values psycopg reads, on the real server; the authentications it makes, against the RFC's
exchange; and every case where it leaves the connection to the driver."""

from __future__ import annotations

import datetime as dt
import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import PG_SERVER, PG_VARIABLE, server_database

from opsctl.ledger import pgwire
from opsctl.ledger.serverglance import connect_args

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def pg_url() -> Iterator[str]:
    yield from server_database(PG_SERVER, PG_VARIABLE)


@pytest.fixture
def wire(pg_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[pgwire.Connection]:
    for name in [k for k in os.environ if k.startswith("PG")]:
        monkeypatch.delenv(name)
    found = connect_args(pg_url)
    assert found is not None
    conn = pgwire.connect(**found[1])
    try:
        yield conn
    finally:
        conn.close()


STATEMENT = ("SELECT %s::int AS n, %s::text AS t, %s::timestamp AS ts, %s::boolean AS b, "
             "%s::text AS missing, %s::text[] AS keys, %s::timestamptz AS tz, "
             "array_length(%s::text[], 1) AS many, 'x''y' || %s AS quoted, 12.5::float8 AS f")
PARAMS = [41, "é \\ \" ' ok", dt.datetime(2026, 11, 30, 7, 8, 9, 123456), True, None,
          ['a"b', "c\\d", "e,f", "{g}", " h "], dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC),
          [f"k{i}" for i in range(1500)], "z"]


def test_it_reads_what_psycopg_reads(wire: pgwire.Connection, pg_url: str) -> None:
    import psycopg

    found = connect_args(pg_url)
    assert found is not None
    with psycopg.connect(**found[1]) as conn:
        expected = conn.execute(STATEMENT, PARAMS).fetchall()
    got = wire.cursor().execute(STATEMENT, PARAMS).fetchall()
    assert len(got) == 1 and len(got[0]) == len(expected[0])
    (n, t, ts, b, missing, keys, tz, many, quoted, f), = got
    e = expected[0]
    assert (n, t, ts, b, missing, tz, many, quoted) == (e[0], e[1], e[2], e[3], e[4], e[6],
                                                        e[7], e[8])
    assert ts.tzinfo is None and tz == dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    # Types it has no reader for come as PostgreSQL writes them.
    assert keys == '{"a\\"b","c\\\\d","e,f","{g}"," h "}' and f == "12.5"
    assert e[5] == PARAMS[5]


def test_a_utc_connection_reads_times_aware(pg_url: str,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    found = connect_args(pg_url)
    assert found is not None
    conn = pgwire.connect(**found[1], utc=True)
    try:
        (when,) = conn.cursor().execute("SELECT %s::timestamp",
                                        [dt.datetime(2026, 5, 6, 7, 8)]).fetchone() or ()
    finally:
        conn.close()
    assert when == dt.datetime(2026, 5, 6, 7, 8, tzinfo=dt.UTC)


def test_the_servers_words_for_a_bad_statement(wire: pgwire.Connection) -> None:
    cursor = wire.cursor()
    with pytest.raises(pgwire.WireError, match='relation "no_such_table" does not exist'):
        cursor.execute("SELECT * FROM no_such_table")
    # The session goes on (the exchange was read to its end).
    assert cursor.execute("SELECT 1 + %s", [1]).fetchall() == [(2,)]
    many = cursor.execute("SELECT g, repeat('x', 300) FROM generate_series(1, 5000) g")
    assert [len(r) for r in many.fetchmany(3)] == [2, 2, 2]
    assert len(many.fetchall()) == 4997 and many.fetchone() is None


def test_a_read_only_session(wire: pgwire.Connection) -> None:
    with pytest.raises(pgwire.WireError, match="read-only transaction"):
        wire.cursor().execute("CREATE TABLE opsctl_never (x int)")


def test_refusals(pg_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    found = connect_args(pg_url)
    assert found is not None
    args = found[1]
    with pytest.raises(pgwire.WireError, match='database "no_such_db" does not exist'):
        pgwire.connect(**{**args, "dbname": "no_such_db"})
    with socket.socket() as bound:  # a port nothing listens on
        bound.bind(("127.0.0.1", 0))
        port = bound.getsockname()[1]
        with pytest.raises(pgwire.Unreached, match=f'"127.0.0.1", port {port} failed: '
                                                   "Connection refused"):
            pgwire.connect(**{**args, "port": port})


def test_a_server_that_never_answers_is_unreached(monkeypatch: pytest.MonkeyPatch,
                                                  tmp_path: Path) -> None:
    """A port that takes the connection but says nothing (a hung server): the startup times
    out, and that is the ledger's unreachable warning at once, not a second wait."""
    from opsctl.errors import LedgerUnreachable
    from opsctl.ledger import serverglance

    for name in [k for k in os.environ if k.startswith("PG")]:
        monkeypatch.delenv(name)
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        port = silent.getsockname()[1]
        with pytest.raises(pgwire.Unreached, match="timed out"):
            pgwire.connect(host="127.0.0.1", port=port, user="postgres", connect_timeout=0.3)
        monkeypatch.setattr(serverglance, "CONNECT_TIMEOUT", 0.3)
        with pytest.raises(LedgerUnreachable, match=f":{port}/x is unreachable"):
            serverglance.server_glance(f"postgresql://postgres@127.0.0.1:{port}/x",
                                       str(tmp_path))


@pytest.mark.parametrize("change", [{"host": "db.example"}, {"host": None}, {"user": None}])
def test_what_it_leaves_to_the_driver(change: dict[str, object]) -> None:
    args = {"host": "127.0.0.1", "port": 5432, "user": "postgres", "dbname": "x", **change}
    with pytest.raises(pgwire.Elsewhere):
        pgwire.connect(**args)  # type: ignore[arg-type]


def test_libpq_variables_are_the_drivers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PGSSLMODE", "require")
    with pytest.raises(pgwire.Elsewhere):
        pgwire.connect(host="127.0.0.1", user="postgres")


def test_scram_as_rfc_7677_computes_it() -> None:
    """The exchange of RFC 7677, section 3 (user ``user``, password ``pencil``)."""
    nonce = "rOprNGfwEbeRWgbNEkqO"
    server_first = ("r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
                    "s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096")
    final, signature = pgwire.scram_proof("pencil", f"n=user,r={nonce}", server_first, nonce)
    assert final == ("c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
                     "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=")
    assert signature == b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="
    with pytest.raises(pgwire.WireError, match="nonce"):
        pgwire.scram_proof("pencil", f"n=user,r={nonce}", server_first, "other")


def test_md5_as_postgresql_stores_and_salts_it() -> None:
    # pg_authid holds 'md5' || md5(password || user): for postgres/postgres,
    # md53175bce1d3201d16594cebf9d7eb3f9d; the answer salts its hex digits.
    import hashlib

    salt = b"\x01\x02\x03\x04"
    assert pgwire.md5_password("postgres", "postgres", salt) == b"md5" + hashlib.md5(
        b"3175bce1d3201d16594cebf9d7eb3f9d" + salt).hexdigest().encode()


def test_a_server_that_skips_its_scram_proof_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """A listener that takes the client's SCRAM proof and answers "authentication ok"
    without the server's own signature (one that never knew the password) is not trusted."""
    import struct
    import threading

    for name in [k for k in os.environ if k.startswith("PG")]:
        monkeypatch.delenv(name)

    def auth(code: int, data: bytes = b"") -> bytes:
        return b"R" + struct.pack("!ii", 8 + len(data), code) + data

    def message(conn: socket.socket) -> bytes:
        kind = conn.recv(1)
        (size,) = struct.unpack("!i", conn.recv(4))
        return kind + conn.recv(size - 4)

    with socket.socket() as fake:
        fake.bind(("127.0.0.1", 0))
        fake.listen()

        def serve() -> None:
            conn, _ = fake.accept()
            with conn:
                (size,) = struct.unpack("!i", conn.recv(4))
                conn.recv(size - 4)  # the startup message
                conn.sendall(auth(10, b"SCRAM-SHA-256\0\0"))
                first = message(conn).split(b"n,,", 1)[1].decode()
                nonce = first.split("r=", 1)[1]
                conn.sendall(auth(11, f"r={nonce}srv,s=c2FsdA==,i=4096".encode()))
                message(conn)  # the client's proof
                conn.sendall(auth(0))  # no signature of its own
                conn.recv(1)

        server = threading.Thread(target=serve, daemon=True)
        server.start()
        with pytest.raises(pgwire.WireError, match="SCRAM"):
            pgwire.connect(host="127.0.0.1", port=fake.getsockname()[1], user="postgres",
                           password="secret", connect_timeout=5)
        server.join(5)
