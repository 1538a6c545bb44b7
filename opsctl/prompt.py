"""Questions at a terminal: a [y/N] answered by a person, never by a pipe.

At a question Ctrl-C exits 130 and end of input declines (77), never Click's bare
"Aborted!" with exit 1.
"""

from __future__ import annotations

import sys

from .errors import Declined, Interrupted


def can_ask() -> bool:
    """Whether a question can be answered: someone is at a terminal on stdin."""
    try:
        return sys.stdin.isatty()
    except (AttributeError, ValueError):
        return False


def confirm(question: str, *, otherwise: str) -> bool:
    """Ask ``question [y/N]`` on stderr; True for yes, False for no.

    End of input (Ctrl-D, a closed stdin) raises :class:`Declined`, and Ctrl-C
    :class:`Interrupted`, both with ``otherwise``: what was not done.
    """
    import click

    try:
        return click.confirm(question, default=False, err=True)
    except click.exceptions.Abort as exc:
        click.echo(err=True)  # end the question's line
        if isinstance(exc.__context__, KeyboardInterrupt):
            raise Interrupted(f"interrupted: {otherwise}") from None
        raise Declined(f"no answer: {otherwise}") from None
