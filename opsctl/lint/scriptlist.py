"""The scripts a lint collects (those whose content it checks, and those of recycle/ and
unrecycle/ the cross-file rules compare), held compactly: the scripts of a shared folder as
one :class:`ScriptGroup` (the folder, its names, their kind) rather than a path and a tuple
each. At 100,000 scripts a fifth of them in recycle/ and unrecycle/, those paths and tuples
were megabytes a warm lint held only to hand them over; the paths are now made a few thousand
at a time, when the content rules ask for them. A group holds its names as one string (NUL
between them: no file name holds one), not a string each: twenty thousand names were a
megabyte and a half of objects held from the walk to the end of the lint, where one string
is a third of that; they are cut out a few hundred at a time as they are asked for.
"""

from __future__ import annotations

from itertools import islice, repeat

from ..filecache import digest_parts
from ..light import NamedTuple
from ..naming import Kind

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy reads it the same)

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator


class ScriptGroup(NamedTuple):
    """Scripts of one folder, all of one kind: ``folder/name`` for each name of ``joined``
    (the names with a NUL between them, :func:`group`)."""

    folder: str
    joined: str
    kind: Kind

    def names(self) -> Iterator[str]:
        """The names, in order, cut out of :attr:`joined` a slice at a time."""
        return _split(self.joined)

    def size(self) -> int:
        """How many names the group holds."""
        return self.joined.count("\0") + 1 if self.joined else 0


def group(folder: str, names: Iterable[str], kind: Kind) -> ScriptGroup:
    """The :class:`ScriptGroup` of ``names`` (none holds a NUL) in ``folder``."""
    return ScriptGroup(folder, "\0".join(names), kind)


#: How many characters of a group's names are cut into strings at a time.
_SLICE = 16384


def _split(joined: str) -> Iterator[str]:
    start, end = 0, len(joined)
    while start < end:
        stop = end if end - start <= _SLICE else joined.rfind("\0", start, start + _SLICE)
        if stop <= start:  # no NUL in the slice: a name longer than it (none is)
            stop = joined.find("\0", start + 1)
            stop = end if stop < 0 else stop
        yield from joined[start:stop].split("\0")
        start = stop + 1


#: The scripts a lint collects: ``(root-relative path, kind)`` pairs and groups.
Scripts = list["tuple[str, Kind] | ScriptGroup"]


def scripts_of(items: Iterable[tuple[str, Kind] | ScriptGroup]) -> Iterator[tuple[str, Kind]]:
    """Each script of ``items`` as ``(path, kind)``, made as it is asked for."""
    for item in items:
        if type(item) is ScriptGroup:
            yield from zip(map(f"{item.folder}/".__add__, item.names()), repeat(item.kind))
        else:
            yield item  # type: ignore[misc]


#: The shared scripts a lint collects: ``(folder, file name)`` pairs and groups.
Shared = list["tuple[str, str] | ScriptGroup"]


def pairs_of(items: Iterable[tuple[str, str] | ScriptGroup]) -> Iterator[tuple[str, str]]:
    """Each script of ``items`` as ``(folder, file name)``, made as it is asked for."""
    for item in items:
        if type(item) is ScriptGroup:
            yield from zip(repeat(item.folder), item.names())
        else:
            yield item  # type: ignore[misc]


def paths_of(items: Iterable[tuple[str, Kind] | ScriptGroup]) -> Iterator[str]:
    """The path of each script of ``items``, made as it is asked for."""
    for item in items:
        if type(item) is ScriptGroup:
            yield from map(f"{item.folder}/".__add__, item.names())
        else:
            yield item[0]


def count(items: Iterable[tuple[str, Kind] | ScriptGroup]) -> int:
    """How many scripts ``items`` holds."""
    return sum(item.size() if type(item) is ScriptGroup else 1 for item in items)


def chunks(paths: Iterator[str], size: int) -> Iterator[list[str]]:
    """``paths`` ``size`` at a time."""
    while chunk := list(islice(paths, size)):
        yield chunk


def scripts_digest(items: Iterable[tuple[str, Kind] | ScriptGroup], chunk: int = 2048) -> bytes:
    """A digest of the ``(path, kind)`` list of scripts (no path holds a NUL or a SOH), a
    few thousand at a time: at 100,000 scripts the whole text would be megabytes."""
    flat = scripts_of(items)

    def parts() -> Iterator[bytes]:
        while some := list(islice(flat, chunk)):
            yield "\0".join(map("\1".join, some)).encode("utf-8", "surrogatepass") + b"\0"

    return digest_parts(parts())
