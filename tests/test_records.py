"""``opsctl.records.NamedTuple`` builds the classes :class:`typing.NamedTuple` builds: the same
fields, defaults, methods, docstring, module and behaviour as a tuple."""

from __future__ import annotations

import pickle
import typing

import pytest

from opsctl import records


class Point(records.NamedTuple):
    """A point."""

    x: int
    y: int = 0
    label: str = "origin"

    def moved(self, dx: int) -> Point:
        return self._replace(x=self.x + dx)

    @property
    def norm(self) -> int:
        return abs(self.x) + abs(self.y)


class TypedPoint(typing.NamedTuple):
    """A point."""

    x: int
    y: int = 0
    label: str = "origin"

    def moved(self, dx: int) -> TypedPoint:
        return self._replace(x=self.x + dx)

    @property
    def norm(self) -> int:
        return abs(self.x) + abs(self.y)


def test_same_shape_as_typing() -> None:
    for attr in ("_fields", "_field_defaults", "__doc__", "__module__", "__name__",
                 "__qualname__"):
        ours, typings = getattr(Point, attr), getattr(TypedPoint, attr)
        if attr in ("__name__", "__qualname__"):
            ours, typings = ours.replace("Point", "P"), typings.replace("TypedPoint", "P")
        assert ours == typings, attr
    assert list(Point.__annotations__) == list(TypedPoint.__annotations__)  # typing: ForwardRefs
    assert Point.__mro__[1:] == TypedPoint.__mro__[1:] == (tuple, object)


def test_behaves_as_typing() -> None:
    p, t = Point(3, label="p"), TypedPoint(3, label="p")
    assert tuple(p) == tuple(t) == (3, 0, "p")
    assert p.moved(2) == Point(5, 0, "p") and isinstance(p.moved(2), Point)
    assert p.norm == t.norm == 3
    assert p._asdict() == t._asdict()
    assert repr(p) == repr(t).replace("TypedPoint", "Point")
    assert Point._make([1, 2, "q"]) == (1, 2, "q")
    assert pickle.loads(pickle.dumps(p)) == p
    with pytest.raises(TypeError):
        Point()  # type: ignore[call-arg]
    with pytest.raises(AttributeError):
        p.x = 1  # type: ignore[misc]


def test_refuses_what_typing_refuses() -> None:
    with pytest.raises(TypeError):
        class NoDefaultAfterDefault(records.NamedTuple):  # type: ignore[misc]
            a: int = 0
            b: int
    with pytest.raises(AttributeError):
        class Overwrites(records.NamedTuple):  # type: ignore[misc]
            a: int

            def _replace(self) -> None:  # type: ignore[override]
                pass
