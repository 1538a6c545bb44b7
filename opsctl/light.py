"""What the lint's path builds its values and patterns from, light to import.

``opsctl lint`` runs on every push; importing costs it as much as a tenth of the bare
``os.scandir`` walk of SPEC §8 per few modules. Two pieces keep the cost down:

- :class:`NamedTuple`: modules on the lint's path write ``class Finding(NamedTuple)`` as usual,
  with ``NamedTuple`` from here, so that :mod:`typing` is never imported. mypy reads
  :class:`typing.NamedTuple` (the ``TYPE_CHECKING`` branch); at run time the class is built as
  typing builds it, by :func:`collections.namedtuple` from the annotated fields and their
  defaults, the methods and docstring of the class body kept.
- :func:`pattern`: a regex compiled when first used, not at import (each costs about a tenth
  of a millisecond, and most of a module's patterns only explain a bad name). To mypy and to
  its callers it is a :class:`re.Pattern`.
- ``datetime``: :mod:`datetime`'s C half (``_datetime``), whose classes the module hands out
  anyway, without first running the pure-Python copy of them that :mod:`datetime` loads
  (about a millisecond). Modules on the lint's path write ``from .light import datetime as
  _dt``.

``tests/test_light.py`` hold them to what they stand in for.
"""

from __future__ import annotations

import re
from collections import namedtuple

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy reads it the same)

if TYPE_CHECKING:
    import datetime as datetime
else:
    try:
        import _datetime as datetime  # noqa: F401 - handed out to the lint's modules
    except ImportError:  # pragma: no cover - a Python without the C module
        import datetime  # noqa: F401

if TYPE_CHECKING:
    from typing import NamedTuple as NamedTuple
else:
    #: What a class body holds that namedtuple makes itself (or that names no attribute).
    _SPECIAL = frozenset(("__module__", "__name__", "__annotations__", "__dict__",
                          "__weakref__", "__classcell__"))
    #: What a class body may not redefine (typing refuses them too).
    _PROHIBITED = frozenset(("_make", "_replace", "_asdict", "_fields", "_field_defaults",
                             "__new__", "__init__", "__slots__", "__getnewargs__"))

    class _NamedTupleMeta(type):
        def __new__(mcls, name, bases, namespace):
            if not bases:  # NamedTuple itself
                return super().__new__(mcls, name, bases, namespace)
            fields = list(namespace.get("__annotations__", {}))
            defaults = [namespace[f] for f in fields if f in namespace]
            if defaults and fields[len(fields) - len(defaults):] != \
                    [f for f in fields if f in namespace]:
                raise TypeError(f"{name}: a field without a default after one with a default")
            cls = namedtuple(name, fields, defaults=defaults,
                             module=namespace["__module__"])
            cls.__annotations__ = dict(namespace.get("__annotations__", {}))
            for key, value in namespace.items():
                if key in _SPECIAL or key in fields:
                    continue
                if key in _PROHIBITED:
                    raise AttributeError(f"cannot overwrite NamedTuple attribute {key}")
                setattr(cls, key, value)
            return cls

    class NamedTuple(metaclass=_NamedTupleMeta):
        """Base of a typed named tuple (see the module's docstring)."""


class _Pattern:
    """A regex compiled on first use: then its methods are the compiled pattern's own, kept
    on the instance, so a call costs what it costs on the pattern."""

    __slots__ = ("pattern", "flags", "_compiled", "match", "fullmatch", "search", "sub",
                 "findall", "finditer", "split", "subn")

    def __init__(self, pattern: str, flags: int) -> None:
        self.pattern, self.flags = pattern, flags

    def __getattr__(self, name: str) -> object:  # only for what is not set yet
        if name == "_compiled":
            self._compiled = compiled = re.compile(self.pattern, self.flags)
            for method in ("match", "fullmatch", "search", "sub", "findall", "finditer",
                           "split", "subn"):
                setattr(self, method, getattr(compiled, method))
            return compiled
        return getattr(self._compiled, name)

    def __repr__(self) -> str:
        return f"pattern({self.pattern!r})"


def pattern(text: str, flags: int = 0) -> re.Pattern[str]:
    """``re.compile(text, flags)``, compiled when first used."""
    return _Pattern(text, flags)  # type: ignore[return-value]
