"""What the lint's path builds its values and patterns from, light to import.

``opsctl lint`` runs on every push; importing costs it as much as a tenth of the bare
``os.scandir`` walk of SPEC §8 per few modules. Two pieces keep the cost down:

- :class:`NamedTuple`: modules on the lint's path write ``class Finding(NamedTuple)`` as usual,
  with ``NamedTuple`` from here, so that :mod:`typing` is never imported. mypy reads
  :class:`typing.NamedTuple` (the ``TYPE_CHECKING`` branch); at run time the class is the one
  :func:`collections.namedtuple` would build from the annotated fields and their defaults
  (the same attributes, the methods and docstring of the class body kept), but its methods
  are shared by every class instead of compiled for each.
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

import os
import re

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy reads it the same)

if TYPE_CHECKING:
    import datetime as datetime
    from collections.abc import Mapping, Sequence
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

    from _collections import _tuplegetter

    _tuple_new = tuple.__new__

    def _arguments(cls, args, kwargs):
        """The values of a named tuple made with keywords or defaults, as Python would bind
        them to ``__new__(cls, *fields)``, and its errors when they do not fit."""
        fields, name = cls._fields, f"{cls.__name__}.__new__()"
        defaults = cls._field_defaults
        if len(args) > len(fields):
            most = len(fields) + 1
            takes = f"from {most - len(defaults)} to {most}" if defaults else f"{most}"
            raise TypeError(f"{name} takes {takes} positional argument"
                            f"{'' if most == 1 else 's'} but {len(args) + 1} were given")
        for key in kwargs:
            if key not in fields:
                raise TypeError(f"{name} got an unexpected keyword argument {key!r}")
            if key in fields[:len(args)]:
                raise TypeError(f"{name} got multiple values for argument {key!r}")
        values = list(args)
        for field in fields[len(args):]:
            if field in kwargs:
                values.append(kwargs.pop(field))
            elif field in defaults:
                values.append(defaults[field])
            else:
                missing = [f for f in fields[len(values):]
                           if f not in kwargs and f not in defaults]
                quoted = list(map(repr, missing))
                listed = quoted[0] if len(quoted) == 1 else \
                    f"{', '.join(quoted[:-1])}{',' if len(quoted) > 2 else ''} and {quoted[-1]}"
                raise TypeError(f"{name} missing {len(missing)} required positional "
                                f"argument{'s' if len(missing) > 1 else ''}: {listed}")
        return values

    def _new(_cls, *args, **kwargs):
        if kwargs or len(args) != len(_cls._fields):
            args = _arguments(_cls, args, kwargs)
        return _tuple_new(_cls, args)

    @classmethod
    def _make(cls, iterable):
        result = _tuple_new(cls, iterable)
        if len(result) != len(cls._fields):
            raise TypeError(f"Expected {len(cls._fields)} arguments, got {len(result)}")
        return result

    def _replace(self, /, **kwds):
        result = self._make(map(kwds.pop, self._fields, self))
        if kwds:
            raise ValueError(f"Got unexpected field names: {list(kwds)!r}")
        return result

    def _repr(self):
        return self.__class__.__name__ + "(" + ", ".join(
            f"{field}={value!r}" for field, value in zip(self._fields, self, strict=True)) + ")"

    def _asdict(self):
        return dict(zip(self._fields, self, strict=True))

    def _getnewargs(self):
        return tuple(self)

    #: What every class shares: methods defined once here rather than compiled per class
    #: (:func:`collections.namedtuple` compiles a ``__new__`` for each, about half a
    #: millisecond apiece, a dozen on the lint's path).
    _SHARED = {"__slots__": (), "__new__": _new, "_make": _make, "_replace": _replace,
               "__repr__": _repr, "_asdict": _asdict, "__getnewargs__": _getnewargs}

    class _NamedTupleMeta(type):
        def __new__(mcls, name, bases, namespace):
            if not bases:  # NamedTuple itself
                return super().__new__(mcls, name, bases, namespace)
            fields = tuple(namespace.get("__annotations__", {}))
            defaults = [namespace[f] for f in fields if f in namespace]
            if defaults and list(fields[len(fields) - len(defaults):]) != \
                    [f for f in fields if f in namespace]:
                raise TypeError(f"{name}: a field without a default after one with a default")
            body = dict(_SHARED, __doc__=f"{name}({', '.join(fields)})", _fields=fields,
                        _field_defaults=dict(zip(fields[len(fields) - len(defaults):],
                                                 defaults, strict=True)),
                        __match_args__=fields, __module__=namespace["__module__"])
            for index, field in enumerate(fields):
                body[field] = _tuplegetter(index, f"Alias for field number {index}")
            cls = type.__new__(type, name, (tuple,), body)
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


def readable_or_absent(path: str) -> bool:
    """What Click's ``click.Path()`` accepts without a word: a path that does not exist, or
    one the process may read."""
    try:
        os.stat(path)
    except (OSError, ValueError):
        return True
    return os.access(path, os.R_OK)


def read_options(args: Sequence[str], i: int, valued: Mapping[str, str],
                 flags: Mapping[str, str], values: dict[str, object],
                 paths: list[str] | None) -> int | None:
    """Read ``args[i:]`` into ``values`` (what the Click-free roads of ``lint`` and ``list``
    take of their arguments): up to the first word that is not an option
    (``paths`` None: a command name), or all of it, words into ``paths``. Returns where it
    stopped, or None at a shape the fast path leaves to Click."""
    while i < len(args):
        arg = args[i]
        if not arg.startswith("-"):
            if paths is None:
                return i
            paths.append(arg)
            i += 1
            continue
        i += 1
        name, eq, value = arg.partition("=")
        if name in valued:
            if not eq:
                if i == len(args):
                    return None
                value = args[i]
                i += 1
            key = valued[name]
            if key in values or not value:
                return None
            values[key] = value
        elif arg in flags and flags[arg] not in values:
            values[flags[arg]] = True
        else:
            return None
    return i
