"""One module per verb; each command parses, calls one function of a concept module, renders.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from ..errors import OpsctlError
from ..project import Project

if TYPE_CHECKING:
    from click.shell_completion import CompletionItem

    from ..catalogue import Script

pass_project = click.make_pass_decorator(Project, ensure=True)


def project_of(ctx: click.Context) -> Project:
    """The invocation's project; during shell completion (where group callbacks do not run)
    built from the root's ``--project`` value."""
    project = ctx.find_object(Project)
    if project is None:
        root = ctx.find_root()
        root.obj = project = Project(root.params.get("project_dir"))
    return project


# Click 8.5 made ParamType generic; subscripting it would break Click 8.1-8.4 at import.
class ScriptParam(click.ParamType):  # type: ignore[type-arg]
    """A ``<script>`` argument: resolved through the catalogue, completed from it."""

    name = "script"

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> Script:
        from ..catalogue import Script  # imported on use, so --help stays light

        if isinstance(value, Script):
            return value
        assert ctx is not None
        return project_of(ctx).catalogue.resolve(str(value))

    def shell_complete(self, ctx: click.Context, param: click.Parameter,
                       incomplete: str) -> list[CompletionItem]:
        from click.shell_completion import CompletionItem

        try:
            scripts = project_of(ctx).catalogue.scripts
        except OpsctlError:  # no project here, a broken [tool.opsctl]: nothing to offer
            return []
        out = []
        for s in scripts:
            if s.display != s.key:
                continue  # an undecodable file name cannot be typed back into a shell
            if s.key.startswith(incomplete) or s.stem.startswith(incomplete):
                out.append(CompletionItem(s.key, help=s.kind))
        return out


SCRIPT = ScriptParam()


class Between(click.IntRange):
    """:class:`click.IntRange` from ``low`` to ``high``, both included, its refusal said
    ``N is not between LOW and HIGH``."""

    def __init__(self, low: int, high: int) -> None:
        super().__init__(low, high)

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> Any:
        try:
            return super().convert(value, param, ctx)
        except click.BadParameter:
            number = click.INT.convert(value, param, ctx)  # not a number: said as such
            self.fail(f"{number} is not between {self.min} and {self.max}", param, ctx)
