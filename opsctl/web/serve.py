"""``opsctl serve``: the dashboard on 127.0.0.1, for a quick look in development.

The app is a bare Flask app of its own (the project's app is not needed to read the ledger);
access is by the one-time token printed on the console (:class:`~.guard.TokenAccess`), like
Jupyter's: the first request carries it in the URL, then a session cookie does, and the
dashboard redirects to the same page without it.
"""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING

from .guard import TokenAccess
from .mount import init_app

if TYPE_CHECKING:
    from flask import Flask
    from werkzeug.serving import BaseWSGIServer

#: The only address served: the dashboard is for the machine's own user.
HOST = "127.0.0.1"


def serving_app(project_dir: str, operator: str) -> tuple[Flask, TokenAccess]:
    """The app ``opsctl serve`` serves, and its token access (``operator``: who acts)."""
    from flask import Flask

    app = Flask("opsctl.serve", static_folder=None)  # the blueprint's /static, not the app's
    app.secret_key = secrets.token_hex(32)
    app.config.update(SESSION_COOKIE_SAMESITE="Strict", SESSION_COOKIE_HTTPONLY=True)
    access = TokenAccess(operator=operator)
    init_app(app, url_prefix="", project=project_dir, access=access)
    return app, access


def server(app: Flask, port: int) -> BaseWSGIServer:
    """A threaded server of ``app`` on 127.0.0.1 (``port`` 0: any free port)."""
    from werkzeug.serving import make_server

    return make_server(HOST, port, app, threaded=True)


def address(server_: BaseWSGIServer, access: TokenAccess) -> str:
    """The URL to open: with the token, once."""
    return f"http://{HOST}:{server_.server_port}/?token={access.token}"
