"""Which environment a run is in, and whether it is protected: decided from the names the app
and the operator state, so that the operator's shell can add protection but never remove it.

* The app's own name is recorded when it states one (its ``OPSCTL_ENV`` config, else its
  ``ENV``); ``OPSCTL_ENV`` in the operator's environment names it only when the app does not.
* The run is protected when *any* stated name is protected: the operator's ``OPSCTL_ENV`` can
  protect a run the app does not, and cannot lift the app's production.
* Names compare case- and blank-insensitively, and ``prod`` is ``production``.
* Stated names that disagree make a sentence: shown before the run, recorded as a note.

Pure: plain mappings in, a value out (``app.config`` and ``os.environ`` in a run).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

#: What a run is in when nobody names an environment.
DEFAULT = "development"
#: Other spellings of one environment.
ALIASES = {"prod": "production"}


class Environment(NamedTuple):
    #: Recorded in the ledger and given to the script as ``current_run().environment``.
    name: str
    protected: bool
    #: Which stated name made the run protected, when the recorded one alone would not.
    protected_by: str | None = None
    #: The stated names disagree: a sentence to show and to record as a note.
    conflict: str | None = None


def canonical(name: str) -> str:
    """``" Production "`` and ``prod`` are ``production``: case and blanks do not count."""
    key = " ".join(name.split()).casefold()
    return ALIASES.get(key, key)


def is_protected(name: str, protected: Sequence[str]) -> bool:
    return bool(name.strip()) and canonical(name) in {canonical(p) for p in protected}


def stated(app_config: Mapping[str, Any], environ: Mapping[str, str]) -> list[tuple[str, str]]:
    """The names stated, most authoritative first, each with who states it."""
    found = []
    for where, source, key in (("the app's OPSCTL_ENV", app_config, "OPSCTL_ENV"),
                               ("the app's ENV", app_config, "ENV"),
                               ("OPSCTL_ENV in the operator's environment", environ,
                                "OPSCTL_ENV")):
        value = source.get(key)
        if value is not None and str(value).strip():
            found.append((where, str(value)))
    return found


def decide(app_config: Mapping[str, Any], environ: Mapping[str, str],
           protected: Sequence[str]) -> Environment:
    """The run's environment from what the app and the operator state."""
    names = stated(app_config, environ)
    name = names[0][1].strip() if names else DEFAULT
    guarded = [(where, value) for where, value in names if is_protected(value, protected)]
    is_guarded = bool(guarded) or (not names and is_protected(DEFAULT, protected))
    by = None
    if guarded and not is_protected(name, protected):
        by = f"{guarded[0][0]} says {guarded[0][1]!r}"
    conflict = None
    if len({canonical(value) for _, value in names}) > 1:
        said = ", ".join(f"{where} says {value!r}" for where, value in names)
        conflict = f"environment names disagree: {said}; the app's own, {name!r}, is recorded"
        if is_guarded:
            conflict += ", and the run is protected"
    return Environment(name, is_guarded, by, conflict)
