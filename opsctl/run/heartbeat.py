"""The heartbeat of a recorded run: a background thread that refreshes the run's lock, so
other machines see the run is alive and do not take its lock over as stale.
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
        from ..ledger.locks import HEARTBEAT_SECONDS

        while not self._stop.wait(HEARTBEAT_SECONDS):
            try:
                if not self._ledger.heartbeat(self._run) and not self._warned:
                    self._warn("another process took it over as stale")
            except Exception as exc:  # a passing database hiccup must not kill the script
                if not self._warned:
                    self._warn(f"{type(exc).__name__}: {exc}")

    def _warn(self, why: str) -> None:
        self._warned = True
        output.warn(f"could not refresh the lock of run {self._run.id} ({why})")
