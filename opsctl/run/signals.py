"""Ctrl-C, SIGTERM, SIGHUP (a dropped SSH session, a closed terminal) and SIGQUIT during a
run: the script stops, the run is recorded as ``interrupted``, the lock is released, and
opsctl exits 128 + the signal's number: 130, 143, 129, 131 (questions are
:mod:`opsctl.prompt`'s).

SIGINT raises :class:`KeyboardInterrupt` as Python always does (a script's own
``except KeyboardInterrupt`` cleanup still runs); the others raise :class:`Terminated`, which
``except Exception`` does not swallow either. While the ledger is being written the handlers
only note the signal, so a row is never left half written; :attr:`Interrupts.count` lets a
write that waits for the ledger stop waiting when another one comes.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

from ..errors import SIGHUP_EXIT, SIGINT_EXIT, SIGQUIT_EXIT, SIGTERM_EXIT


class Terminated(BaseException):
    """SIGTERM, SIGHUP or SIGQUIT arrived during the run."""


#: The signals that end a run, and opsctl's exit code for each (SIGHUP and SIGQUIT are
#: POSIX's: Windows has neither).
EXIT_CODES: dict[int, int] = {signal.SIGINT: SIGINT_EXIT, signal.SIGTERM: SIGTERM_EXIT}
for _name, _code in (("SIGHUP", SIGHUP_EXIT), ("SIGQUIT", SIGQUIT_EXIT)):
    if hasattr(signal, _name):
        EXIT_CODES[getattr(signal, _name)] = _code


class Interrupts:
    """Installs the handlers for one run; :attr:`received` is the first signal that came."""

    def __init__(self) -> None:
        self.received: int | None = None
        #: How many of these signals came so far.
        self.count = 0
        self._shielded = 0
        self._previous: dict[int, Any] = {}

    def install(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return  # only the main thread may set handlers (e.g. a test runner's thread)
        for sig in EXIT_CODES:
            self._previous[sig] = signal.signal(sig, self._handle)

    def hold(self) -> None:
        """Only note signals from now on (until :meth:`restore`)."""
        self._shielded += 1

    def resume(self) -> None:
        """End one :meth:`hold`; a signal noted meanwhile is raised now."""
        self._shielded = max(0, self._shielded - 1)
        if not self._shielded and self.received is not None:
            raise_for(self.received)

    def restore(self) -> None:
        self._shielded = 0
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        self._previous.clear()

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        self.count += 1
        if self.received is None:
            self.received = signum
        if self._shielded:
            return
        raise_for(signum)

    @contextmanager
    def shielded(self) -> Iterator[None]:
        """Note signals instead of raising them inside the block (ledger writes)."""
        self._shielded += 1
        try:
            yield
        finally:
            self._shielded -= 1

    @property
    def exit_code(self) -> int | None:
        return EXIT_CODES.get(self.received) if self.received is not None else None


def raise_for(signum: int) -> None:
    if signum == signal.SIGINT:
        raise KeyboardInterrupt
    raise Terminated


def signal_name(signum: int | None) -> str:
    return signal.Signals(signum).name if signum is not None else "a signal"
