"""The heartbeat of a recorded run: a background thread that refreshes the run's lock, so
other machines see the run is alive and do not take its lock over as stale.

A ledger that cannot be reached for a while never stops the script: the heartbeat says so
once, keeps trying on a fresh connection at each beat, and says when it got through again.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from .. import output

if TYPE_CHECKING:
    from ..ledger.store import Ledger
    from ..ledger.values import Run


class Heartbeat:
    """Refreshes the run's lock in the background, so other machines see it is alive."""

    def __init__(self, ledger: Ledger, run: Run) -> None:
        self._ledger = ledger
        self._run = run
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name="opsctl-heartbeat",
                                        daemon=True)
        self._warned = False

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def _beat(self) -> None:
        from ..errors import LedgerUnreachable
        from ..ledger.locks import HEARTBEAT_SECONDS

        failing = False
        while not self._stop.wait(HEARTBEAT_SECONDS):
            try:
                refreshed = self._ledger.heartbeat(self._run)
            except Exception as exc:  # a passing database hiccup must not kill the script
                why = exc.diagnosis if isinstance(exc, LedgerUnreachable) else \
                    f"{type(exc).__name__}: {exc}"
                if not failing and not self._warned:
                    self._warn(f"{why}; still trying")
                failing = True
                continue
            if failing and refreshed:
                self._say(output.note, f"opsctl: the lock of run {self._run.id} is refreshed "
                          "again")
            failing = False
            if not refreshed and not self._warned:
                self._warn("another process took it over as stale")

    def _warn(self, why: str) -> None:
        self._warned = True
        self._say(output.warn, f"could not refresh the lock of run {self._run.id} ({why})")

    @staticmethod
    def _say(show: object, message: str) -> None:
        try:
            show(message)  # type: ignore[operator]
        except (OSError, ValueError):  # a terminal gone, a stream closed: the run goes on
            pass
