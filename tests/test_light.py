"""``opsctl.light``: its ``NamedTuple`` builds the classes :class:`typing.NamedTuple` builds
(the same fields, defaults, methods, docstring, module and behaviour as a tuple), and its
``pattern`` is a regex compiled on first use that then behaves as the compiled one."""

from __future__ import annotations

import pickle
import re
import typing

import pytest

from opsctl import light


class Point(light.NamedTuple):
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


class Three(light.NamedTuple):
    a: int
    b: int
    c: int


class TypedThree(typing.NamedTuple):
    a: int
    b: int
    c: int


def _outcome(cls: type, args: tuple[int, ...], kwargs: dict[str, int]) -> object:
    try:
        return tuple(cls(*args, **kwargs))
    except TypeError as exc:
        return str(exc).replace(cls.__name__, "X")


@pytest.mark.parametrize(("args", "kwargs"), [
    ((), {}), ((1,), {}), ((1, 2), {}), ((1, 2, 3, 4), {}), ((1,), {"z": 2}),
    ((1,), {"x": 2}), ((1,), {"a": 2}), ((), {"a": 1, "b": 2}), ((1, 2, 3), {"c": 3})])
def test_the_same_errors_as_typing(args: tuple[int, ...], kwargs: dict[str, int]) -> None:
    """Ours binds arguments in Python rather than in a compiled ``__new__``: the same
    values, the same errors, word for word."""
    errors = 0
    for ours, typings in ((Three, TypedThree), (Point, TypedPoint)):
        mine = _outcome(ours, args, kwargs)
        assert mine == _outcome(typings, args, kwargs)
        errors += isinstance(mine, str)
    assert errors  # each case is an error for one of them at least


def test_keywords_and_defaults_bind_as_typing() -> None:
    for call in ((1,), (1, 2), (1, 2, "l")):
        assert Point(*call) == TypedPoint(*call)
    assert Point(y=2, x=1) == TypedPoint(y=2, x=1) == (1, 2, "origin")
    assert Point(1, label="q") == TypedPoint(1, label="q")
    assert Point.x.__doc__ == TypedPoint.x.__doc__ and Point.__match_args__ == ("x", "y", "label")


def test_refuses_what_typing_refuses() -> None:
    with pytest.raises(TypeError):
        class NoDefaultAfterDefault(light.NamedTuple):  # type: ignore[misc]
            a: int = 0
            b: int
    with pytest.raises(AttributeError):
        class Overwrites(light.NamedTuple):  # type: ignore[misc]
            a: int

            def _replace(self) -> None:  # type: ignore[override]
                pass


def test_pattern_compiles_on_first_use_and_then_is_the_pattern() -> None:
    lazy = light.pattern(r"^(a+)(b)?$", re.IGNORECASE)
    assert lazy.pattern == r"^(a+)(b)?$" and lazy.flags == re.IGNORECASE
    m = lazy.match("AAb")
    assert m is not None and m.groups() == ("AA", "b")
    assert lazy.match == re.compile(r"^(a+)(b)?$", re.IGNORECASE).match  # now the pattern's own
    assert lazy.fullmatch("ab") is not None and lazy.search("xab") is None
    assert lazy.sub("-", "aa") == "-" and lazy.findall("a") == [("a", "")]
    assert lazy.groups == 2 and lazy.groupindex == {}


def test_pattern_is_not_compiled_at_import(monkeypatch: pytest.MonkeyPatch) -> None:
    compiled: list[str] = []
    real = re.compile
    monkeypatch.setattr(re, "compile", lambda p, f=0: compiled.append(p) or real(p, f))
    lazy = light.pattern(r"x+y")
    assert compiled == []
    assert lazy.search("axxy") is not None
    assert compiled == [r"x+y"]
    lazy.search("xy")
    assert compiled == [r"x+y"]


def test_datetime_hands_out_datetime_s_own_classes() -> None:
    import datetime

    from opsctl import light

    for name in ("date", "datetime", "time", "timedelta", "timezone", "tzinfo", "MINYEAR",
                 "MAXYEAR"):
        assert getattr(light.datetime, name) is getattr(datetime, name), name
