"""``flask ops``: opsctl's commands inside a project's existing ``flask`` CLI.

Registered through the ``flask.commands`` entry point, so ``flask --app opsctl.demo ops
run recycle/clear_cache`` works wherever opsctl is installed. Every ``flask`` invocation imports
this module, so it imports nothing but opsctl's light CLI. ``flask ops run`` finds its app in
the same order as ``opsctl run`` (:mod:`opsctl.run.appsource`); ``flask --app`` on the command
line counts as its ``--app`` (``opsctl run`` finds Flask's ``ScriptInfo`` in the context).
"""

from __future__ import annotations

import copy

from .group import cli

ops_command = copy.copy(cli)
ops_command.name = "ops"
ops_command.help = (
    "Offline scripts: opsctl's commands inside the flask CLI.\n\n"
    "The same commands as the 'opsctl' program; 'flask --app' (or 'run --app') chooses the "
    "app for 'run', as 'opsctl run --app' does.\n\n"
    "\b\n"
    "  flask --app opsctl.demo ops list\n"
    "  flask --app opsctl.demo ops run recycle/clear_cache\n"
    "  flask ops history")
ops_command.short_help = "Offline scripts: opsctl's commands inside the flask CLI."
