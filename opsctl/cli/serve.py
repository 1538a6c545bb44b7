"""``opsctl serve``: the web dashboard on 127.0.0.1 with a one-time token (:mod:`opsctl.web`)."""

from __future__ import annotations

import click

from .. import output
from ..project import Project
from .params import pass_project


@click.command("serve")
@click.option("--port", type=click.IntRange(0, 65535), default=8765, show_default=True,
              help="The port on 127.0.0.1 (0: any free one).")
@pass_project
def serve_command(project: Project, port: int) -> None:
    """Serve the web dashboard on 127.0.0.1, for development.

    Prints a URL with a one-time token; only a browser that opened it may see the
    dashboard. In production, mount opsctl.web in the team's own app instead.
    """
    from ..identity import find_identity
    from ..web.serve import address, server, serving_app

    operator = find_identity(cwd=project.dir).name
    app, access = serving_app(project.dir_path, operator)
    running = server(app, port)
    click.echo(address(running, access))
    output.note(f"opsctl: serving the dashboard of {project.dir_path} on 127.0.0.1 for "
                "development; open the address above (Ctrl-C stops it)")
    try:
        running.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        running.server_close()
