"""Secrets never reach the ledger: what a run stores is scrubbed first.

Two parts:

* :func:`redact` hides the values of secret options in a script's arguments: every name a
  Click option is declared with (``-p`` as well as ``--password``), option names holding a
  secret word (``--db-password``, ``--api-key``, ``--auth``), and ``KEY=value`` arguments with
  a secret-like key (``PASSWORD=hunter2``).
* :class:`Scrubber` cleans any text stored (arguments, reason, summary, error, traceback,
  output tail): passwords inside URLs (``postgresql://u:***@host/db``), the bound parameters
  SQLAlchemy prints in its errors and the row values databases quote in theirs, and known
  values: the app's own secrets (:func:`app_secrets`: ``SECRET_KEY``, passwords in its
  database URIs, secret-like configuration keys and environment variables) and what the
  script's secret options were given.

Light: the ``run`` command's pre-parse imports :mod:`opsctl.run.args`, and this module imports
nothing heavy either.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

MASK = "***"

#: Words that make an option or a ``KEY=value`` key secret when they are a whole word of its
#: name: ``--key``, ``--api-key``, ``--pass``, ``--pwd``, ``--auth`` (but not ``--monkey``,
#: ``--passes`` or ``--author``). The configured ``secret_options`` match anywhere in a name.
SECRET_WORDS = frozenset({"key", "pass", "pwd", "pw", "auth", "pin", "otp", "dsn", "cookie",
                          "credentials", "credential", "passphrase", "bearer"})

#: The shortest value scrubbed by value: shorter ones would blank ordinary words.
MIN_SECRET = 4

_WORD_SPLIT = re.compile(r"[-_.\s]+")
#: ``scheme://user:password@host``; the password runs to the authority's last ``@`` (an
#: unencoded ``@`` in it is still masked whole) and holds no ``/`` or blank.
_URL_PASSWORD = re.compile(r"(?P<head>\b[a-zA-Z][a-zA-Z0-9+.\-]*://[^\s:/@]*:)(?P<pw>[^\s/]+)@")
#: What SQLAlchemy appends to a database error: the statement's bound values, one line.
_SQL_PARAMETERS = re.compile(r"\[parameters: [^\n]*")
#: What databases quote of a row in their errors: PostgreSQL's ``Key (token)=(value)`` and
#: ``Failing row contains (...)``, MySQL's ``Duplicate entry 'value' for key``.
_DB_KEY = re.compile(r"(?P<head>\bKey \((?:[^()\n]|\([^()\n]*\))*\)=)\([^\n]*\)")
_DB_ROW = re.compile(r"(?P<head>\bFailing row contains )\([^\n]*\)")
_DB_ENTRY = re.compile(r"(?P<head>\bDuplicate entry ')[^\n]*?(?=' for key)")
_BEARER = re.compile(r"\b(?P<scheme>Bearer|Basic)\s+[A-Za-z0-9._~+/=\-]{4,}")
_KEY_VALUE = re.compile(r"(?P<key>[A-Za-z_][A-Za-z0-9_.\-]*)=(?P<value>.+)", re.DOTALL)
_KEY_VALUE_INLINE = re.compile(r"\b(?P<key>[A-Za-z_][A-Za-z0-9_.\-]*)=(?P<value>[^\s,;&'\"]+)")


def secret_name(name: str, substrings: Sequence[str]) -> bool:
    """Whether an option or key name (``--db-password``, ``API_KEY``) names a secret."""
    norm = name.lstrip("-").lower().replace("_", "-")
    if not norm:
        return False
    words = [w.lower().replace("_", "-") for w in substrings if w.strip("-_")]
    if any(w in norm for w in words):
        return True
    return any(part in SECRET_WORDS for part in _WORD_SPLIT.split(norm))


def redact(args: Sequence[str], secret_names: Sequence[str],
           flags: frozenset[str] = frozenset(),
           secret_opts: frozenset[str] = frozenset()) -> list[str]:
    """Arguments with the values of secret options replaced by ``***``.

    ``flags`` are option strings that take no value (the next argument is kept);
    ``secret_opts`` every option string of a script's options known to be secret, however
    they are named (``-p`` for ``--password``). ``--token=x``, ``--token x``, ``-px`` and
    ``-p x`` are all covered, and so are ``KEY=value`` arguments with a secret-like key.
    """
    def is_secret(option: str) -> bool:
        return option in secret_opts or secret_name(option, secret_names)

    out: list[str] = []
    hide_next = False
    for arg in args:
        if hide_next:
            out.append(MASK)
            hide_next = False
            continue
        if arg == "--":
            # What follows is the script's to read; a secret option there is no less secret.
            out.append(arg)
            continue
        if arg.startswith("-") and len(arg) > 1 and not _is_number(arg):
            if arg.startswith("--"):
                option, eq, _ = arg.partition("=")
                if is_secret(option):
                    if eq:
                        out.append(f"{option}={MASK}")
                        continue
                    hide_next = option not in flags
            else:
                short = arg[:2]
                if is_secret(short) and short not in flags:
                    if len(arg) > 2:  # -phunter2, -p=hunter2
                        out.append(short + ("=" if arg[2] == "=" else "") + MASK)
                        continue
                    hide_next = True
            out.append(arg)
            continue
        match = _KEY_VALUE.fullmatch(arg)
        if match is not None and secret_name(match["key"], secret_names):
            out.append(f"{match['key']}={MASK}")
            continue
        out.append(arg)
    return out


def _is_number(text: str) -> bool:
    return re.fullmatch(r"-\d+(\.\d*)?", text) is not None


class Scrubber:
    """Cleans text before it is stored: URL passwords, SQLAlchemy's bound parameters,
    ``KEY=value`` pairs with a secret-like key, and every known secret value."""

    def __init__(self, values: Iterable[str] = (), secret_names: Sequence[str] = ()) -> None:
        known = {v for v in values if isinstance(v, str) and len(v) >= MIN_SECRET}
        # Longest first, so a secret containing another is masked whole.
        self.values = sorted(known, key=len, reverse=True)
        self.secret_names = tuple(secret_names)
        self._values_re = re.compile("|".join(map(re.escape, self.values))) \
            if self.values else None

    def text(self, text: str | None) -> str | None:
        if not text:
            return text
        if self._values_re is not None:
            text = self._values_re.sub(MASK, text)
        text = _URL_PASSWORD.sub(lambda m: f"{m['head']}{MASK}@", text)
        text = _SQL_PARAMETERS.sub("[parameters: hidden by opsctl]", text)
        text = _DB_KEY.sub(lambda m: f"{m['head']}({MASK})", text)
        text = _DB_ROW.sub(lambda m: f"{m['head']}({MASK})", text)
        text = _DB_ENTRY.sub(lambda m: f"{m['head']}{MASK}", text)
        text = _BEARER.sub(lambda m: f"{m['scheme']} {MASK}", text)
        return _KEY_VALUE_INLINE.sub(self._key_value, text)

    def _key_value(self, match: re.Match[str]) -> str:
        if secret_name(match["key"], self.secret_names):
            return f"{match['key']}={MASK}"
        return match[0]

    def args(self, args: Sequence[str]) -> list[str]:
        return [self.text(a) or a for a in args]

    def value(self, value: Any) -> Any:
        """A reported summary value, scrubbed through and through (keys too)."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, Mapping):
            return {self.text(str(k)): (MASK if secret_name(str(k), self.secret_names)
                                        else self.value(v)) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [self.value(v) for v in value]
        if value is None or isinstance(value, (bool, int, float)):
            return value
        # Stored as its text (the ledger's JSON takes str() of what it cannot hold): that
        # text is what is scrubbed.
        return self.text(str(value))

    def adding(self, values: Iterable[str]) -> Scrubber:
        """The same scrubber, knowing more secret values (what a script's secret options
        were given)."""
        return Scrubber([*self.values, *values], self.secret_names)


#: Names that contain a secret word but hold none: the shell's working folder (``pwd``), and
#: keys whose last word says they hold a name, a place or a setting (``SESSION_COOKIE_NAME``,
#: ``SSH_AUTH_SOCK``, ``SESSION_COOKIE_HTTPONLY``).
NOT_SECRET_NAMES = frozenset({"PWD", "OLDPWD"})
NOT_SECRET_LAST_WORDS = frozenset({
    "name", "names", "domain", "path", "dir", "file", "sock", "socket", "type", "size",
    "samesite", "httponly", "secure", "partitioned", "lifetime", "url", "uri", "host",
    "port", "user", "username", "header", "method", "enabled", "required", "algorithm",
    "length", "timeout", "prefix", "location"})
#: Values too common to be told from ordinary words when scrubbed by value.
TRIVIAL_VALUES = frozenset({"true", "false", "yes", "no", "on", "off", "none", "null"})


def secret_key(key: str, secret_names: Sequence[str]) -> bool:
    """Whether a configuration key or an environment variable holds a secret value:
    ``SECRET_KEY``, ``STRIPE_API_KEY``, ``PGPASSWORD``, but not ``SESSION_COOKIE_NAME``,
    ``SSH_AUTH_SOCK`` or ``PWD``."""
    if key == "SECRET_KEY" or key == "SECRET_KEY_FALLBACKS":
        return True
    if key in NOT_SECRET_NAMES or not secret_name(key, secret_names):
        return False
    words = [w for w in _WORD_SPLIT.split(key.lower()) if w]
    return not words or words[-1] not in NOT_SECRET_LAST_WORDS


def app_secrets(config: Mapping[str, Any], environ: Mapping[str, str],
                secret_names: Sequence[str], urls: Iterable[str] = ()) -> list[str]:
    """The values of an app's own secrets: ``SECRET_KEY`` (and its fallbacks), any
    configuration key (nested ones included) or environment variable with a secret-like name
    (:func:`secret_key`), and the password of every URL among their values (database URIs
    and binds, a broker, a proxy); ``urls`` adds the URLs of engines it holds."""
    found: list[str] = []
    candidates = [*urls]
    for source in (config, environ):
        for key, value in source.items():
            _walk(str(key), value, secret_names, False, found, candidates)
    for url in candidates:
        for match in _URL_PASSWORD.finditer(url):
            found.append(match["pw"])
            found.append(_unquote(match["pw"]))
    return [v for v in dict.fromkeys(found)
            if len(v) >= MIN_SECRET and v.strip().lower() not in TRIVIAL_VALUES]


def _walk(key: str, value: Any, secret_names: Sequence[str], secret: bool, found: list[str],
          candidates: list[str]) -> None:
    """Collect the text under one key: all of it as secret when the key (or one above it)
    is, and all of it as candidates for URLs with a password."""
    secret = secret or secret_key(key, secret_names)
    if isinstance(value, Mapping):
        for k, v in value.items():
            _walk(str(k), v, secret_names, secret, found, candidates)
    elif isinstance(value, (list, tuple)):
        for v in value:
            _walk(key, v, secret_names, secret, found, candidates)
    elif isinstance(value, (str, bytes)):
        texts = [value] if isinstance(value, str) else _bytes_texts(value)
        candidates += texts
        if secret:
            found += texts


def _bytes_texts(value: bytes) -> list[str]:
    """Bytes (a ``SECRET_KEY`` often is) as they could be printed: decoded, and as their
    ``repr`` shows them."""
    shown = repr(value)[2:-1]
    text = value.decode("utf-8", "replace")
    return [text] if text == shown else [text, shown]


def _unquote(text: str) -> str:
    from urllib.parse import unquote

    return unquote(text)
