"""The web dashboard: a Flask blueprint a team mounts in its own app (where its login already
is), and what ``opsctl serve`` serves on 127.0.0.1.

``opsctl.web.blueprint`` and ``opsctl.web.init_app(app, url_prefix="/ops", authorize=...)``
(:mod:`.mount`); the pages (:mod:`.views`, server-rendered Jinja templates in ``templates/``,
readable with no JavaScript; ``static/`` holds the style sheet and the small script that
polls progress), what they show (:mod:`.pages`), the form that starts a run (:mod:`.form`,
read from the script's syntax tree), and who may see and act (:mod:`.guard`:
nothing is served until the team says who may, CSRF tokens, the Content-Security-Policy).

Its buttons (:mod:`.actions`) go through the domain functions the CLI uses: a run starts or
resumes on a queue's workers (:mod:`opsctl.queue`, never in the web process), and pause and
cancel are :mod:`opsctl.stops`' asks.

May import the ground floor, :mod:`opsctl.ledger`, :mod:`opsctl.lifecycle`,
:mod:`opsctl.run`, :mod:`opsctl.history` (with :mod:`opsctl.progress` and
:mod:`opsctl.stops`), :mod:`opsctl.listing` and :mod:`opsctl.queue`; only :mod:`opsctl.cli`
imports it. This ``__init__`` imports nothing until ``blueprint`` or ``init_app`` is asked
for, so Flask is never loaded by the rest of opsctl.
"""

TYPE_CHECKING = False

if TYPE_CHECKING:
    from typing import Any

__all__ = ["blueprint", "init_app"]


def __getattr__(name: str) -> "Any":
    if name == "blueprint":
        from .views import blueprint

        return blueprint
    if name == "init_app":
        from .mount import init_app

        return init_app
    raise AttributeError(f"module 'opsctl.web' has no attribute {name!r}")
