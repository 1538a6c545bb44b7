"""Loaded by every Python process a test starts during ``mutmut run`` (bridge.py puts this
folder on ``PYTHONPATH``). While mutmut maps tests to functions, the functions this process
runs are appended to a file for the test that started it, instead of mutmut's in-memory
record, which would be lost with the process (and which needs mutmut's configuration, read
from the current folder: a test project's, not this repository's)."""

import os

if os.environ.get("MUTANT_UNDER_TEST") == "stats" and os.environ.get("MUTMUT_SUBPROCESS_HITS"):
    from mutmut.mutation import trampoline

    def _record(name: str, caller: str | None = None) -> None:
        with open(os.environ["MUTMUT_SUBPROCESS_HITS"], "a", encoding="utf-8") as fh:
            fh.write(f"{name}\n")

    trampoline.record_trampoline_hit = _record
