"""Who may see and who may act, and the guards every request of the dashboard passes.

Nothing is served until the team says who may do what (:class:`Access`): an ``authorize(user,
action, script)`` hook, or roles checked on Flask-Login's ``current_user``; with neither,
every request is refused (403, with a page saying how to configure it). ``opsctl serve``
uses a one-time token instead (:class:`TokenAccess`): the URL it prints carries it once,
then a session cookie does.

Every state-changing request is a POST carrying the session's CSRF token (:func:`csrf_token`,
:func:`csrf_ok`); every response sends a strict Content-Security-Policy (:data:`HEADERS`).
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

#: What may be asked of the dashboard: reading, and each action.
ACTIONS = ("view", "run", "pause", "resume", "cancel")
#: The hook a team gives: may ``user`` do ``action`` (to ``script``, a key, or None for the
#: dashboard as a whole)?
Authorize = Callable[[Any, str, "str | None"], bool]

#: Sent with every response of the dashboard: no inline script or style, nothing from
#: elsewhere, no framing, forms only to the dashboard itself, no referrer (a token URL).
HEADERS = {
    "Content-Security-Policy": ("default-src 'none'; script-src 'self'; style-src 'self'; "
                                "img-src 'self'; connect-src 'self'; form-action 'self'; "
                                "frame-ancestors 'none'; base-uri 'none'"),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}

#: The session keys the dashboard keeps.
CSRF_KEY = "opsctl_csrf"
TOKEN_KEY = "opsctl_token"


class Access:
    """Who may do what. ``authorize`` is the team's hook; ``roles`` maps an action to the
    role a Flask-Login user needs for it (``{"view": "support", "run": "ops"}``; an action
    not named needs the role of ``"run"``). With neither, nobody may do anything."""

    def __init__(self, authorize: Authorize | None = None,
                 roles: Mapping[str, str] | None = None) -> None:
        self.authorize = authorize
        self.roles = dict(roles or {})

    @property
    def configured(self) -> bool:
        return self.authorize is not None or bool(self.roles)

    def user(self) -> Any:
        """The logged-in user: Flask-Login's ``current_user`` when Flask-Login is in use."""
        try:
            from flask_login import current_user  # type: ignore[import-untyped,import-not-found,unused-ignore]
        except ImportError:
            return None
        from flask import current_app

        if getattr(current_app, "login_manager", None) is None:
            return None
        return current_user._get_current_object()

    def allows(self, user: Any, action: str, script: str | None = None) -> bool:
        if self.authorize is not None:
            return bool(self.authorize(user, action, script))
        role = self.roles.get(action) or self.roles.get("run")
        if not role or user is None or not getattr(user, "is_authenticated", False):
            return False
        has_role = getattr(user, "has_role", None)
        if callable(has_role):
            return bool(has_role(role))
        return role in [getattr(r, "name", r) for r in getattr(user, "roles", ()) or ()]

    def name_of(self, user: Any) -> str:
        """How the user is recorded as a run's operator."""
        for attribute in ("username", "email", "name"):
            value = getattr(user, attribute, None)
            if isinstance(value, str) and value:
                return value
        get_id = getattr(user, "get_id", None)
        if callable(get_id):
            return str(get_id())
        return "anonymous" if user is None else str(user)

    def entry(self, request_args: Mapping[str, str], session: Any) -> bool | None:
        """Called before each request: True when the request was let in by a token (the caller
        redirects to drop it from the URL); None otherwise."""
        return None


@dataclass
class TokenAccess(Access):
    """``opsctl serve``'s access: whoever holds the token printed on the console may do what
    anyone may; it is recorded as ``operator`` (the console's developer identity)."""

    token: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    operator: str = "unknown"

    def __post_init__(self) -> None:
        super().__init__()

    @property
    def configured(self) -> bool:
        return True

    def user(self) -> Any:
        from flask import session

        return self.operator if _same(session.get(TOKEN_KEY), self.token) else None

    def allows(self, user: Any, action: str, script: str | None = None) -> bool:
        return user is not None

    def name_of(self, user: Any) -> str:
        return str(user)

    def entry(self, request_args: Mapping[str, str], session: Any) -> bool | None:
        given = request_args.get("token")
        if given is not None and _same(given, self.token):
            session[TOKEN_KEY] = self.token
            return True
        return None


def _same(a: object, b: str) -> bool:
    return isinstance(a, str) and hmac.compare_digest(a.encode(), b.encode())


def csrf_token(session: Any) -> str:
    """The session's CSRF token, made on first use."""
    token = session.get(CSRF_KEY)
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        session[CSRF_KEY] = token
    return token


def csrf_ok(session: Any, given: str | None) -> bool:
    """Whether a POST carries the session's CSRF token."""
    token = session.get(CSRF_KEY)
    return isinstance(token, str) and given is not None and _same(given, token)
