"""The ``opsctl`` program: the console script and ``python -m opsctl``.

``opsctl lint`` in its everyday shapes (what CI and a pre-commit hook run) goes straight to
:func:`opsctl.lint.fast.run_fast`, and ``opsctl list`` in its everyday shapes to
:func:`opsctl.cli.list_fast.run_fast`, neither of which imports Click; everything else,
``lint`` and ``list`` with any other option included, goes to the Click group in
:mod:`opsctl.cli.group`.
"""

from __future__ import annotations

import gc
import os
import sys

from ..errors import SIGINT_EXIT

#: Whether this process is the ``opsctl`` program, which ends with its command (set by
#: :func:`main`); False when the Click group is called in process, by a test.
PROGRAM = False


def main() -> None:
    global PROGRAM
    PROGRAM = True
    args = sys.argv[1:]
    # Cheap to ask: the fast path reads the arguments properly. Not on Windows, where Click
    # expands wildcards in the arguments itself (its shells do not).
    if "lint" in args and os.name != "nt":
        # One short run, few reference cycles: the cycle collector would only walk the
        # lint's tens of thousands of tuples, a dozen times (a tenth of a warm lint's time).
        gc.disable()
        from ..lint.fast import run_fast

        try:
            code = run_fast(args)
        except KeyboardInterrupt:
            code = SIGINT_EXIT  # as the Click group exits on Ctrl-C
        except BrokenPipeError:  # `opsctl lint | head`: the reader has what it wanted
            code = 1
        if code is not None:
            _exit(code)
        gc.enable()
    elif "list" in args and os.name != "nt":
        gc.disable()  # as for the lint: a short run, whose cache the collector would walk
        from .list_fast import run_fast as run_list

        try:
            code = run_list(args)
        except KeyboardInterrupt:
            code = SIGINT_EXIT
        except BrokenPipeError:  # `opsctl list | head`
            code = 1
        if code is not None:
            _exit(code)
        gc.enable()
    from .group import cli

    cli.main(prog_name="opsctl")


def _exit(code: int) -> None:
    """Exit with ``code``; output a closed pipe could not take is dropped quietly (as Click
    does), never a second traceback at interpreter exit."""
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        code = code or 1
    sys.exit(code)
