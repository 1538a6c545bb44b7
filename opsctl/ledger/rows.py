"""How values cross between Python and the ledger's rows: the clock, times (naive UTC in
the rows, aware outside), text made storable and long text clipped to what a reader wants,
JSON columns, and a row made into a :class:`~.values.Run`.

Text is made storable once, here, at the ledger's write boundary (:func:`text`,
:func:`json_text`): whatever a script prints, reports or raises is stored on every database.

The rest of the ledger calls ``rows.utcnow()`` through this module, so a test sets the
ledger's clock in one place.
"""

from __future__ import annotations

import datetime as _dt
import re
from collections.abc import Mapping

from .values import Run

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy reads it the same)

if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any

UTC = _dt.UTC
#: Characters of text columns kept (output tail, error): MySQL MEDIUMTEXT holds 16 MiB, so
#: this bound is about what a reader of ``history --run`` wants, not what the database allows.
TEXT_LIMIT = 64 * 1024


def utcnow() -> _dt.datetime:
    """This machine's clock, aware, in UTC."""
    return _dt.datetime.now(UTC)


def aware(value: _dt.datetime | None) -> _dt.datetime | None:
    """Rows hold naive UTC (SQLite and MySQL keep no zone); values crossing out are aware."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def naive(value: _dt.datetime) -> _dt.datetime:
    """An aware time as the naive UTC a row holds."""
    return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value


#: What no database takes as text: NUL (PostgreSQL refuses it) and lone surrogates (no UTF-8
#: encoder takes them; they are how Python decodes bytes of another encoding).
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match[0])
    if 0xDC80 <= code <= 0xDCFF:  # a byte that was not UTF-8, as surrogateescape keeps it
        return f"\\x{code - 0xDC00:02x}"
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def text(value: str) -> str:
    """``value`` as every database stores it: a NUL, a lone surrogate, or a byte of another
    encoding (``\\udce9`` from ``surrogateescape``) is written the way Python escapes it
    (``\\x00``, ``\\ud800``, ``\\xe9``); everything else is kept as it is."""
    return _UNSTORABLE.sub(_escape, value) if _UNSTORABLE.search(value) else value


def opt_text(value: str | None) -> str | None:
    return None if value is None else text(value)


def plain(value: Any) -> Any:
    """A value as JSON holds it, its text storable: mappings (any keys, as text), sequences,
    numbers, booleans and None stay what they are; anything else becomes its ``str``."""
    if isinstance(value, str):
        return text(value)
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, Mapping):
        return {text(k) if isinstance(k, str) else text(_str(k)): plain(v)
                for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [plain(v) for v in value]
    return text(_str(value))


def _str(value: Any) -> str:
    try:
        return str(value)
    except Exception:  # a value whose __str__ raises is still reported as something
        return f"<unprintable {type(value).__name__}>"


def json_text(value: Any) -> str:
    """A JSON column's text for ``value`` (see :func:`plain`)."""
    import json

    return json.dumps(plain(value), ensure_ascii=False)


def clip(text: str | None, limit: int = TEXT_LIMIT) -> str | None:
    """Keep the end of long text (the end of output and of a traceback matter most)."""
    if text is None or len(text) <= limit:
        return text
    return "[…]" + text[-limit:]


def json_load(text: str | None, default: Any) -> Any:
    """A JSON column's value; ``default`` when empty or not JSON."""
    if not text:
        return default
    if text in ("[]", "{}"):  # most summaries and notes: no parser needed
        return [] if text == "[]" else {}
    import json  # on use: most summaries and notes are empty

    try:
        return json.loads(text)
    except ValueError:
        return default


def run_of(row: Any) -> Run:
    """A row of ``opsctl_runs`` as a :class:`~.values.Run`; a row read without its output
    tail (:data:`~.queries.BRIEF`) gives a run whose ``output_tail`` is None."""
    return Run(
        id=row.id, script=row.script, sha256=row.sha256, args=json_load(row.args, []),
        operator=row.operator, host=row.host, pid=row.pid,
        started_at=aware(row.started_at),  # type: ignore[arg-type]
        ended_at=aware(row.ended_at), status=row.status, exit_code=row.exit_code,
        dry_run=bool(row.dry_run), error=row.error,
        output_tail=getattr(row, "output_tail", None),
        git_revision=row.git_revision,
        git_dirty=None if row.git_dirty is None else bool(row.git_dirty),
        environment=row.environment, reason=row.reason,
        summary=json_load(row.summary, {}),
        notes=tuple(json_load(row.notes, [])),
    )


def run_of_cells(cells: Sequence[Any]) -> Run:
    """:func:`run_of` for a row given as its cells in ``opsctl_runs``' column order, its times
    already aware (UTC); 19 cells are a row read without its output tail. Quicker than going
    through names: a list reads a thousand of these."""
    if len(cells) == 19:
        cells = (*cells[:13], None, *cells[13:])
    (run_id, script, sha256, args, operator, host, pid, started, ended, status, exit_code,
     dry_run, error, output_tail, git_revision, git_dirty, environment, reason, summary,
     notes) = cells
    return Run(run_id, script, sha256, json_load(args, []), operator, host, pid,
               started, ended, status, exit_code,
               bool(dry_run), error, output_tail, git_revision,
               None if git_dirty is None else bool(git_dirty), environment, reason,
               json_load(summary, {}), tuple(json_load(notes, [])))
