"""``NamedTuple`` for the value types of the lint's path, without importing :mod:`typing`.

Importing :mod:`typing` costs ``opsctl lint`` more than a tenth of what the bare ``os.scandir``
walk of SPEC §8 costs. Modules on the lint's path write ``class Finding(NamedTuple)`` as usual,
with ``NamedTuple`` from here: mypy reads :class:`typing.NamedTuple` (the ``TYPE_CHECKING``
branch), and at run time the same class is built as typing builds it, by
:func:`collections.namedtuple` from the annotated fields and their defaults, the methods and
docstring of the class body kept. ``tests/test_records.py`` holds the two alike.
"""

from __future__ import annotations

from collections import namedtuple

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy reads it the same)

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
