"""Python's cycle collector around a run: paused while opsctl and the app load, and what they
made frozen out of its sight before the script's own code runs.

Loading SQLAlchemy, Flask and an app makes hundreds of thousands of long-lived objects
(modules, classes, functions, tables). With the collector on, it walks them again every few
hundred allocations while they load, and once more at the interpreter's exit: measured on
the benchmark's app, about a tenth of a short run's instructions, to find next to nothing.

So :class:`Collector` pauses it for the loading; just before the script is imported, what
exists is moved to the permanent generation (:func:`gc.freeze`) and the collector is set
back as it was. The script's own objects are then collected exactly as anywhere else, from
its first line to the interpreter's exit; only the garbage cycles of the loading, if any,
are never looked for again (the process ends with the run).

When the process goes on after the run (``run_script`` called in process: a test,
:mod:`opsctl.testing`), :meth:`Collector.close` unfreezes them, so nothing stays out of the
collector's sight for longer than the run.
"""

from __future__ import annotations

import gc


class Collector:
    """Pauses the cycle collector from now until :meth:`resume`; :meth:`close` at the end."""

    def __init__(self, *, keep_frozen: bool) -> None:
        #: The process ends with the run (the ``opsctl`` program): no need to unfreeze.
        self.keep_frozen = keep_frozen
        self._enabled = gc.isenabled()
        self._frozen = False
        gc.disable()

    def resume(self) -> None:
        """Freeze what exists (once) and set the collector back as it was: called just
        before the script's code runs."""
        if not self._frozen:
            gc.freeze()
            self._frozen = True
        if self._enabled:
            gc.enable()

    def close(self) -> None:
        """After the run: the collector as it was, and unfrozen unless the process ends."""
        if self._frozen and not self.keep_frozen:
            gc.unfreeze()
            self._frozen = False
        if self._enabled:
            gc.enable()
