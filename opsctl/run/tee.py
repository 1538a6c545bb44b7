"""A script's output goes to the terminal as it is written, and its tail is kept for the ledger.

``sys.stdout`` and ``sys.stderr`` are replaced by proxies that write through at once and keep
the last :data:`TAIL_CHARS` characters. The proxies answer ``isatty()`` like the real streams,
so rich, Click and progress bars behave as they would without opsctl. What bypasses
``sys.stdout``/``sys.stderr`` (a child process, C code writing to fd 1) still reaches the
terminal but not the tail: capturing at the file-descriptor level would need a pipe, and a
pipe would tell every library it is not on a terminal.
"""

from __future__ import annotations

import sys
from collections import deque
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import IO, Any

TAIL_CHARS = 32_000


class Tail:
    """The last ``limit`` characters written, interleaved as written."""

    def __init__(self, limit: int = TAIL_CHARS) -> None:
        self.limit = limit
        self._chunks: deque[str] = deque()
        self._size = 0

    def add(self, text: str) -> None:
        if not text:
            return
        self._chunks.append(text)
        self._size += len(text)
        # Drop whole old chunks while what remains still covers the limit.
        while self._chunks and self._size - len(self._chunks[0]) >= self.limit:
            self._size -= len(self._chunks.popleft())

    def text(self) -> str:
        return "".join(self._chunks)[-self.limit:]


class Tee:
    """A text stream proxy: writes go to ``stream`` immediately and into ``tail``."""

    def __init__(self, stream: IO[str], tail: Tail) -> None:
        self._stream = stream
        self._tail = tail

    def write(self, text: str) -> int:
        written = self._stream.write(text)
        self._tail.add(text)
        if "\n" in text:
            # Live even into a pipe (`opsctl run x | tee log`), where Python would buffer.
            self._stream.flush()
        return written

    def writelines(self, lines: Iterable[str]) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        self._stream.flush()

    def isatty(self) -> bool:
        return self._stream.isatty()

    def __getattr__(self, name: str) -> Any:
        # encoding, errors, fileno, buffer...: the real stream's.
        return getattr(self._stream, name)


@contextmanager
def teed(tail: Tail) -> Iterator[IO[str]]:
    """Tee ``sys.stdout`` and ``sys.stderr`` into ``tail``; yields the real stderr."""
    out, err = sys.stdout, sys.stderr
    sys.stdout = Tee(out, tail)
    sys.stderr = Tee(err, tail)
    try:
        yield err
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):
                pass  # a closed pipe must not hide the run's real outcome
        sys.stdout, sys.stderr = out, err
