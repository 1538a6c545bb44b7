"""A progress bar at the terminal that leaves a script's own output where it was going.

rich's live display swaps ``sys.stdout`` and ``sys.stderr`` for proxies that print each line
above the bar through the bar's console: a ``print()`` in a :func:`~opsctl.run.api.track` loop
would reach the bar's stream (stderr) instead of stdout, so a ``> file`` and the ledger's
output tail (:mod:`opsctl.run.tee`) would miss it. Here each line goes to the stream it was
written to. Where that stream is the bar's terminal, the bar is lifted around the line the way
rich lifts it for any line printed above a live display: the bar's console prints a marker,
and its file (:class:`Screen`) writes the line on its own stream where the marker stands,
between the codes that erase the bar and those that draw it again.
"""

from __future__ import annotations

import os
import sys
import threading
from collections import deque
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import IO, TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from rich.console import Console

T = TypeVar("T")

#: What the bar's console prints in a line's place (private-use characters, never output).
_MARK = "\ue000opsctl-line\ue001"


def tracked(iterable: Iterable[T], terminal: IO[str], description: str,
            total: float | None, no_color: bool) -> Iterator[T]:
    """Iterate ``iterable`` with rich's progress bar drawn on ``terminal``."""
    from rich.console import Console
    from rich.progress import Progress

    screen = Screen(terminal)
    console = Console(file=screen, no_color=no_color or None)  # type: ignore[arg-type]
    # rich.progress.track's bar, without its redirection of sys.stdout and sys.stderr.
    # The lines are routed while the bar is live, and a partial last one written after it.
    with _lines_above(console, screen), Progress(
            *Progress.get_default_columns(), console=console, redirect_stdout=False,
            redirect_stderr=False) as progress:
        yield from progress.track(iterable, total=total, description=description)


class Screen:
    """The bar's console's file: ``terminal``, with each marker replaced by its line."""

    def __init__(self, terminal: IO[str]) -> None:
        self.terminal = terminal
        self.lock = threading.Lock()
        #: Lines waiting for their marker, with the stream each goes to.
        self.waiting: deque[tuple[IO[str], str]] = deque()

    def write(self, text: str) -> int:
        rest = text
        while True:
            head, mark, rest = rest.partition(_MARK)
            self.terminal.write(head)
            if not mark:
                return len(text)
            rest = rest.removeprefix("\n")
            self.terminal.flush()  # the bar is erased before the line shows
            stream, line = self.waiting.popleft()
            stream.write(line)
            stream.flush()

    def flush(self) -> None:
        self.terminal.flush()

    def __getattr__(self, name: str) -> Any:
        # isatty, fileno, encoding: the terminal's, so rich draws as it would on it.
        return getattr(self.terminal, name)


class _Above:
    """``sys.stdout`` or ``sys.stderr`` while the bar is live: whole lines go to ``stream``,
    shown above the bar."""

    def __init__(self, stream: IO[str], console: Console, screen: Screen) -> None:
        self.stream = stream
        self._console = console
        self._screen = screen
        self._partial = ""

    def write(self, text: str) -> int:
        lines, newline, self._partial = (self._partial + text).rpartition("\n")
        if newline:
            with self._screen.lock:
                self._screen.waiting.append((self.stream, lines + newline))
                self._console.print(_MARK, markup=False, emoji=False, highlight=False,
                                    soft_wrap=True)
        return len(text)

    def flush(self) -> None:
        # A partial line waits for its end: written now, the bar would draw over it.
        pass

    def end(self) -> None:
        if self._partial:
            self.stream.write(self._partial)
            self.stream.flush()

    def isatty(self) -> bool:
        return self.stream.isatty()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stream, name)


@contextmanager
def _lines_above(console: Console, screen: Screen) -> Iterator[None]:
    """Route what is written to ``sys.stdout``/``sys.stderr`` above the bar, for those of the
    two on the bar's terminal; one redirected elsewhere (``> file``) is written to as it is."""
    out, err = sys.stdout, sys.stderr
    above = {name: _Above(stream, console, screen) for name, stream in
             (("stdout", out), ("stderr", err)) if _same_terminal(stream, screen.terminal)}
    sys.stdout = above.get("stdout", out)
    sys.stderr = above.get("stderr", err)
    try:
        yield
    finally:
        sys.stdout, sys.stderr = out, err
        for proxy in above.values():
            proxy.end()


def _same_terminal(stream: IO[str], terminal: IO[str]) -> bool:
    try:
        if not stream.isatty():
            return False
        return os.fstat(stream.fileno()).st_rdev == os.fstat(terminal.fileno()).st_rdev
    except (AttributeError, ValueError, OSError):
        return False
