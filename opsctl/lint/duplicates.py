"""The duplicate rule (OPS302): shared scripts of one purpose.

Two scripts in recycle/ and unrecycle/ have one purpose when their names are equal once case,
separators and copy marks are set aside, or when one name sits in both folders. The copies of
such a group are reported, never its original: the member with the plain name is the one to
keep and is told nothing. When no member has the plain name, or one name sits in both
folders, every member is reported.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from ..naming import Naming, normalise


def duplicates(scripts: Iterable[tuple[str, str]], naming: Naming,
               only: set[str] | None = None) -> Iterator[tuple[str, str, str]]:
    """``(path, message, fix)`` for each member of a group of shared scripts
    (``(folder, file name)`` pairs) of one purpose; with ``only``, just those paths."""
    groups: dict[str, list[tuple[str, str]]] = {}
    for folder, name in scripts:
        key = naming.copies.purpose_key(normalise(name[:-3]))
        if key:
            groups.setdefault(key, []).append((folder, name))
    for key, members in groups.items():
        if len(members) < 2:
            continue
        members.sort(key=lambda m: (m[0] != "recycle", m))
        originals = [m for m in members if m[1][:-3] == key]
        for folder, name in members:
            rel = f"{folder}/{name}"
            if len(originals) == 1 and (folder, name) in originals:
                continue  # the original: its copies are the findings
            if only is None or rel in only:
                yield (rel, *_explain(key, (folder, name), members))


def _explain(key: str, member: tuple[str, str],
             members: list[tuple[str, str]]) -> tuple[str, str]:
    folder, name = member
    stem = name[:-3]
    others = [(f, n) for f, n in members if (f, n) != member]
    listed = ", ".join(f"{f}/{n}" for f, n in others)
    same = [(f, n) for f, n in others if n == name]
    if same and len(others) == 1:
        return (f"the same name is in {same[0][0]}/{name}; a script is either recurring "
                "(recycle/) or a one-off record (unrecycle/), not both",
                "keep the one that is current and delete the other (git keeps history)")
    other_stems = [n[:-3] for _, n in others]
    if all(s.lower() == stem.lower() for s in other_stems):
        how = "only by case"
    elif all(normalise(s) == normalise(stem) for s in other_stems):
        how = "only by case or separators"
    elif normalise(stem).endswith(key) and normalise(stem) != key:
        how = "only by a prefix"
    else:
        how = "only by a suffix"
    canonical = next((f"{f}/{n}" for f, n in members if n[:-3] == key), None)
    if canonical == f"{folder}/{name}":
        fix = (f"keep this one: merge {listed} into it (extend it with an option), then "
               f"delete {'it' if len(others) == 1 else 'them'}")
    elif canonical:
        fix = f"merge them into {canonical} (extend it with an option) and delete the rest"
    else:
        fix = "merge them into one script with a plain snake_case name"
    return f"differs {how} from {listed}: one purpose, one script", fix
