"""A PostgreSQL client of a few statements, speaking the wire protocol (version 3) over a
socket: what ``list``'s last runs read (:mod:`.serverglance`) from a server on this machine,
without a driver. Importing psycopg costs about twice a whole ``list``; a socket, a startup
message and one extended-protocol exchange a statement cost a millisecond or two.

:func:`connect` raises :class:`Elsewhere` whenever the driver, which reads more than a URL,
would connect differently, so the caller uses the driver instead:

* a host that is not this machine's loopback (no TLS here: libpq may negotiate it), or no
  host (a Unix socket, found where libpq was built to look);
* any ``PG...`` variable in the environment (libpq reads them: a password, a service, TLS);
* an authentication this client does not make (only trust, a password in clear, MD5 and
  SCRAM-SHA-256 without channel binding, an ASCII password), or a password asked for that
  the URL does not give (libpq would look in ``~/.pgpass``);
* the server refusing the connection's authorization (``pg_hba.conf`` may accept TLS).

A server that cannot be reached, or does not see the connection through its startup, raises
:class:`Unreached`; anything it refuses later (or a SCRAM login it does not prove it knew),
:class:`WireError`, with its words (:class:`Lost`: the connection failed midway). Statements
are psycopg's, a ``%s`` a parameter; values travel and come back as text, read by type.
"""

from __future__ import annotations

import os
import struct

from ..light import datetime as _dt

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy reads it the same)

if TYPE_CHECKING:
    import _socket
    from collections.abc import Callable, Iterator, Sequence
    from typing import Any

#: Host names of this machine: no TLS is negotiated with them.
LOOPBACK = ("localhost", "127.0.0.1", "::1")
#: Protocol version 3.0.
_PROTOCOL = 196608
_INT = struct.Struct("!i")
_HEADER = struct.Struct("!ci")


class WireError(Exception):
    """What the server refused, in its words (the ``Error`` a glance catches)."""


class Unreached(WireError):
    """No server answered at the address (refused, timed out, an unknown host)."""


class Lost(WireError):
    """The connection failed on the way (reset, closed, timed out)."""


class Elsewhere(Exception):  # noqa: N818 - not an error: the driver's turn
    """The driver would connect differently: use it (see the module)."""


def _timestamp(raw: bytes) -> _dt.datetime:
    return _dt.datetime.fromisoformat(raw.decode())


def _utc(raw: bytes) -> _dt.datetime:
    """A ``timestamp`` (without a zone) as UTC, aware (the session's zone is UTC)."""
    return _dt.datetime.fromisoformat(raw.decode() + "+00:00")


#: How a column's text becomes a value, by type OID; any other type is read as text.
READERS: dict[int, Callable[[bytes], Any]] = {
    16: lambda raw: raw == b"t",  # bool
    20: int, 21: int, 23: int, 26: int,  # int8, int2, int4, oid
    1114: _timestamp, 1184: _timestamp,  # timestamp, timestamptz
}
#: :data:`READERS`, a ``timestamp`` read as UTC.
UTC_READERS = {**READERS, 1114: _utc}


def _text(value: Any) -> bytes | None:
    """A parameter as PostgreSQL reads it as text."""
    if value is None:
        return None
    if isinstance(value, bool):
        return b"true" if value else b"false"
    if isinstance(value, list | tuple):
        quoted = ('"' + str(v).replace("\\", "\\\\").replace('"', '\\"') + '"' for v in value)
        return ("{" + ",".join(quoted) + "}").encode()
    if isinstance(value, _dt.datetime):
        return value.isoformat(" ").encode()
    return str(value).encode()


def _numbered(sql: str) -> str:
    """``%s`` marks as ``$1``, ``$2``, ... (the statements here hold no other ``%``)."""
    parts = sql.split("%s")
    return "".join(f"{part}${i}" for i, part in enumerate(parts[:-1], 1)) + parts[-1]


def _message(kind: bytes, body: bytes) -> bytes:
    return kind + _INT.pack(len(body) + 4) + body


def _fields(body: bytes) -> dict[str, str]:
    """An ErrorResponse's fields (``S`` severity, ``C`` code, ``M`` message, ...)."""
    return {item[:1].decode(): item[1:].decode("utf-8", "replace")
            for item in body.split(b"\0") if item}


def md5_password(user: str, password: str, salt: bytes) -> bytes:
    """The answer to an MD5 challenge."""
    import hashlib

    inner = hashlib.md5((password + user).encode()).hexdigest()  # noqa: S324 - the protocol's
    return b"md5" + hashlib.md5(inner.encode() + salt).hexdigest().encode()  # noqa: S324


def scram_proof(password: str, client_first_bare: str, server_first: str,
                nonce: str) -> tuple[str, bytes]:
    """SCRAM-SHA-256 (RFC 5802, 7677) without channel binding: the client's final message,
    and the server signature its final message must hold."""
    import base64
    import hashlib
    import hmac

    parts = dict(item.split("=", 1) for item in server_first.split(","))
    if not parts["r"].startswith(nonce):
        raise WireError("the server's SCRAM nonce does not extend the client's")
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), base64.b64decode(parts["s"]),
                                 int(parts["i"]))
    client_key = hmac.digest(salted, b"Client Key", "sha256")
    without_proof = f"c=biws,r={parts['r']}"
    auth = f"{client_first_bare},{server_first},{without_proof}".encode()
    signature = hmac.digest(hashlib.sha256(client_key).digest(), auth, "sha256")
    proof = bytes(a ^ b for a, b in zip(client_key, signature, strict=True))
    server = hmac.digest(hmac.digest(salted, b"Server Key", "sha256"), auth, "sha256")
    return f"{without_proof},p={base64.b64encode(proof).decode()}", \
        b"v=" + base64.b64encode(server)


def connect(*args: Any, **kwargs: Any) -> Connection:
    """A connection to the server, ready for statements: :func:`begin`'s arguments, and
    what it and :meth:`Starting.finish` raise (see the module)."""
    return begin(*args, **kwargs).finish()


def begin(host: str | None = None, port: int = 5432, user: str | None = None,
          password: str | None = None, dbname: str | None = None, options: str = "",
          connect_timeout: float = 5, utc: bool = False) -> Starting:
    """A connection up to the startup message sent: the server forks its backend while the
    caller does other work, then :meth:`Starting.finish` reads its answer. ``utc``: a
    ``timestamp`` without a zone is read as UTC, aware (a DBAPI driver reads it naive)."""
    if host not in LOOPBACK or user is None or any(k.startswith("PG") for k in os.environ):
        raise Elsewhere
    import _socket  # the C half: the module's enums cost more than the whole exchange

    where = f'connection to server at "{host}", port {port} failed'
    try:
        addresses = _socket.getaddrinfo(host.encode(), port, 0, _socket.SOCK_STREAM)  # no IDNA
        for i, (family, kind, proto, _, address) in enumerate(addresses):  # noqa: B007
            sock = _socket.socket(family, kind, proto)
            sock.settimeout(connect_timeout)
            try:
                sock.connect(address)
                break
            except OSError:
                sock.close()
                if i == len(addresses) - 1:
                    raise
    except OSError as exc:
        raise Unreached(f"{where}: {exc.strerror or exc}") from None
    (starting := Starting(sock, UTC_READERS if utc else READERS)).user = user
    starting.password, starting.where = password, where
    try:
        starting.send_startup(user, dbname or user, options, where)
    except BaseException:
        starting.close()
        raise
    return starting


class Connection:
    """One session: :meth:`cursor` runs statements, one at a time."""

    def __init__(self, sock: _socket.socket,
                 readers: dict[int, Callable[[bytes], Any]] = READERS) -> None:
        self._sock = sock
        self._readers = readers
        self._buffer = b""
        self._at = 0

    def _send(self, data: bytes) -> None:
        try:
            self._sock.sendall(data)
        except OSError as exc:  # the server went away: a refusal the caller reads as such
            raise Lost(f"the connection to the server failed: {exc}") from None

    def _receive(self) -> tuple[bytes, bytes]:
        """The next message: its kind and its body."""
        at = self._at
        if len(self._buffer) - at < 5:
            self._fill(5)
            at = 0
        kind, size = _HEADER.unpack_from(self._buffer, at)
        end = at + 1 + size
        if end > len(self._buffer):
            self._fill(1 + size)
            at, end = 0, 1 + size
        self._at = end
        return kind, self._buffer[at + 5:end]

    def _fill(self, wanted: int) -> None:
        """Read until the buffer holds ``wanted`` bytes from the current message on."""
        chunks = [self._buffer[self._at:]]
        have = len(chunks[0])
        while have < wanted:
            try:
                chunk = self._sock.recv(max(65536, wanted - have))
            except OSError as exc:
                raise Lost(f"the connection to the server failed: {exc}") from None
            if not chunk:
                raise Lost("the server closed the connection")
            chunks.append(chunk)
            have += len(chunk)
        self._buffer, self._at = b"".join(chunks), 0

    def send_startup(self, user: str, dbname: str, options: str, where: str) -> None:
        settings = {"user": user, "database": dbname, "client_encoding": "UTF8",
                    "DateStyle": "ISO", "TimeZone": "UTC", "options": options}
        body = _INT.pack(_PROTOCOL) + b"".join(
            k.encode() + b"\0" + v.encode() + b"\0" for k, v in settings.items() if v) + b"\0"
        try:
            self._send(_INT.pack(len(body) + 4) + body)
        except Lost as exc:
            raise Unreached(f"{where}: {exc}") from None

    def start(self, user: str, password: str | None, where: str) -> None:
        """The startup's answer, to the server's first ReadyForQuery."""
        try:
            self._authenticate(user, password, where)
            while (kind := self._receive())[0] != b"Z":
                if kind[0] == b"E":
                    self._refused(kind[1], where)
        except Lost as exc:  # no answer, as when nothing listens: the ledger would wait again
            raise Unreached(f"{where}: {exc}") from None

    def _refused(self, body: bytes, where: str) -> None:
        fields = _fields(body)
        if fields.get("C", "").startswith("28"):  # authorization: the driver may do better
            raise Elsewhere
        raise WireError(f"{where}: {fields.get('S', 'FATAL')}:  {fields.get('M', '')}")

    def _authenticate(self, user: str, password: str | None, where: str) -> None:
        nonce = first = ""
        final = b""
        while True:
            kind, body = self._receive()
            if kind == b"E":
                self._refused(body, where)
            if kind != b"R":
                raise WireError(f"{where}: unexpected message {kind!r} at startup")
            (code,) = _INT.unpack_from(body)
            if code == 0 and final:  # SCRAM: ok only once the server's signature is checked
                raise WireError(f"{where}: the server did not prove its SCRAM signature")
            if code == 0:
                return
            if password is None or not password.isascii() or code not in (3, 5, 10, 11, 12):
                raise Elsewhere  # ~/.pgpass, SASLprep, Kerberos, GSS, SSPI: libpq's
            if code == 3:
                self._send(_message(b"p", password.encode() + b"\0"))
            elif code == 5:
                self._send(_message(b"p", md5_password(user, password, body[4:8]) + b"\0"))
            elif code == 10:
                if b"SCRAM-SHA-256\0" not in body[4:]:
                    raise Elsewhere
                import base64
                nonce = base64.b64encode(os.urandom(18)).decode()
                first, data = f"n=,r={nonce}", f"n,,n=,r={nonce}".encode()
                self._send(_message(b"p", b"SCRAM-SHA-256\0" + _INT.pack(len(data)) + data))
            elif code == 11:
                answer, final = scram_proof(password, first, body[4:].decode(), nonce)
                self._send(_message(b"p", answer.encode()))
            elif not final or body[4:].split(b",")[0] != final:  # 12: the server proves it
                raise WireError(f"{where}: the server's SCRAM signature is wrong")  # knew
            final = b"" if code == 12 else final  # proven

    def cursor(self) -> Cursor:
        return Cursor(self)

    def run(self, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        """Every row ``sql`` selects, its cells read by column type."""
        values = [_text(v) for v in params]
        bind = b"\0\0\0\0" + struct.pack("!h", len(values)) + b"".join(
            _INT.pack(-1) if v is None else _INT.pack(len(v)) + v for v in values) + b"\0\0"
        self._send(_message(b"P", b"\0" + _numbered(sql).encode() + b"\0\0\0")
                   + _message(b"B", bind) + _message(b"D", b"P\0")
                   + _message(b"E", b"\0\0\0\0\0") + _message(b"S", b""))
        readers: list[Callable[[bytes], Any]] = []
        rows: list[tuple[Any, ...]] = []
        error: dict[str, str] | None = None
        unpack = _INT.unpack_from
        buffer, at = self._buffer, self._at
        while True:  # the messages, read in the buffer itself: a list reads a thousand rows
            whole = len(buffer) - at >= 5 and at + 1 + unpack(buffer, at + 1)[0] <= len(buffer)
            if not whole:
                self._at = at
                self._fill(5 if len(buffer) - at < 5 else 1 + unpack(buffer, at + 1)[0])
                buffer, at = self._buffer, 0
                continue
            kind, end = buffer[at], at + 1 + unpack(buffer, at + 1)[0]
            if kind == 68:  # D, a row: each cell's length (-1: NULL), then its text
                cells: list[Any] = []
                cell = at + 7
                for read in readers:
                    (size,) = unpack(buffer, cell)
                    cell += 4
                    if size < 0:
                        cells.append(None)
                    else:
                        cells.append(read(buffer[cell:cell + size]))
                        cell += size
                rows.append(tuple(cells))
            elif kind == 84:  # T, the columns
                readers = self._columns(buffer[at + 5:end], self._readers)
            elif kind == 69:  # E, an error (the exchange goes on to Z)
                error = _fields(buffer[at + 5:end])
            at = end
            if kind == 90:  # Z, ready for the next statement
                break
        self._buffer, self._at = buffer, at
        if error is not None:
            raise WireError(f"{error.get('S', 'ERROR')}:  {error.get('M', '')}")
        return rows

    @staticmethod
    def _columns(body: bytes, known: dict[int, Callable[[bytes], Any]],
                 ) -> list[Callable[[bytes], Any]]:
        """How each column of a RowDescription is read."""
        readers = []
        at = 2
        for _ in range(struct.unpack_from("!h", body)[0]):
            at = body.index(b"\0", at) + 1
            (oid,) = struct.unpack_from("!i", body, at + 6)
            readers.append(known.get(oid, bytes.decode))
            at += 18
        return readers

    def close(self) -> None:
        try:
            self._sock.sendall(_message(b"X", b""))
        except OSError:
            pass
        self._sock.close()


class Starting(Connection):
    """A connection whose startup message is sent, its answer not yet read (:func:`begin`)."""

    user: str
    password: str | None
    where: str

    def finish(self) -> Connection:
        """The connection, ready for statements, once the server's answer to the startup
        is read (raising as :func:`connect` does); closed when that fails."""
        try:
            self.start(self.user, self.password, self.where)
        except BaseException:
            self.close()
            raise
        self._sock.settimeout(None)  # statements wait as long as the driver's would
        return self


class Cursor:
    """What a glance asks of a DBAPI cursor: :meth:`execute`, then the rows."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._rows: list[tuple[Any, ...]] = []
        self._at = 0

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Cursor:
        self._rows, self._at = self._conn.run(sql, params), 0
        return self

    def fetchmany(self, size: int) -> list[tuple[Any, ...]]:
        found = self._rows[self._at:self._at + size]
        self._at += len(found)
        return found

    def fetchone(self) -> tuple[Any, ...] | None:
        found = self.fetchmany(1)
        return found[0] if found else None

    def fetchall(self) -> list[tuple[Any, ...]]:
        return self.fetchmany(len(self._rows))

    def __iter__(self) -> Iterator[tuple[Any, ...]]:
        return iter(self.fetchall())
