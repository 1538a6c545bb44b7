"""What will run, said before a run in a protected environment, and the operator's go-ahead
(``--yes`` gives it without asking; with no terminal to ask at, the run is declined).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from .. import output
from ..errors import Declined
from ..prompt import can_ask, confirm

if TYPE_CHECKING:
    from ..catalogue import Script
    from .app import LoadedApp
    from .args import RunOptions
    from .environment import Environment


def confirm_run(script: Script, args: list[str], loaded: LoadedApp, env: Environment,
                options: RunOptions, operator: str) -> None:
    """Ask before a run in a protected environment; a disagreement between the names of the
    environment is shown in the question, or told when ``--yes`` asks nothing."""
    from .app import databases_of

    if options.yes:
        if env.conflict:
            output.warn(env.conflict)
        return
    environment = env.name
    command = " ".join([script.display, *args])
    lines = [f"About to run {command}",
             f"  app:          {loaded.description}"]
    for url in databases_of(loaded.app) or ["(no Flask-SQLAlchemy database)"]:
        lines.append(f"  database:     {url}")
    why = f"protected: {env.protected_by}" if env.protected_by else "protected"
    lines += [f"  environment:  {environment} ({why})",
              *([f"  conflict:     {env.conflict}"] if env.conflict else []),
              f"  operator:     {operator}",
              f"  reason:       {options.reason or '(none given: --reason)'}",
              f"  dry run:      {'yes' if options.dry_run else 'no'}"]
    if not can_ask():
        where = f"the protected environment {environment!r}" if not env.protected_by else \
            f"the environment {environment!r}, protected because {env.protected_by}"
        raise Declined(f"{script.display} would run in {where}, and there is no terminal to "
                       "confirm it; pass --yes to run it non-interactively")
    click.echo("\n".join(lines), err=True)
    if not confirm("Run it?", otherwise=f"{script.display} did not run"):
        raise Declined(f"not confirmed: {script.display} did not run")
