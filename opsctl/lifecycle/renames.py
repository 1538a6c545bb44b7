"""Rename: a more fitting name for a script, in its own folder, recorded in the ledger like any
move; and the places in the repository that still mention the name it had.

The convention's own workflow: before adding a recycle script, extend the one that already
does nearly the same; then give it a more general name (``export_order_id_and_custom_name``
becomes ``export_order``). A temporary script keeps its ``ts_YYYY_MM_DD_`` prefix and
changes its purpose. The move itself is :func:`~.moves.apply_move`'s: all or nothing,
``git mv`` in a work tree, refused while the script has a run in progress.
"""

from __future__ import annotations

import os
from typing import NamedTuple

from ..catalogue import Catalogue, Script
from ..errors import InvalidName
from ..gitops import Mention, work_tree
from ..naming import Naming, parse_temporary, temporary_stem
from .moves import Move, MoveRefused, refuse_existing


def plan_rename(script: Script, name: str, *, naming: Naming) -> Move:
    """Check that ``script`` may be called ``name`` in its folder and say where it goes.

    ``name`` is the purpose only: a recycle or unrecycle name, or a temporary script's part
    after its ``ts_YYYY_MM_DD_`` prefix. It must pass the lint; the file it names must not
    exist. Raises :class:`~opsctl.errors.InvalidName`, :class:`~.moves.MoveRefused` or
    :class:`~opsctl.errors.TargetExists`; reads the disk only to see what exists.
    """
    if "/" in name or os.sep in name:
        raise InvalidName(f"invalid name {name!r}: give the name only; rename keeps a script "
                          "in its folder (demote or promote moves it to another)")
    name = name.removesuffix(".py")
    folder = f"{script.folder}/"
    # The evidence the lint weighs: a sibling named without a copy mark (not this script).
    catalogue = Catalogue(script.root)
    if script.kind == "temporary":
        parsed = parse_temporary(script.stem)
        if parsed is None:
            raise MoveRefused(f"{script.display} is not named ts_YYYY_MM_DD_<what>, so there "
                              "is no date to keep; give it its ts_ name by hand")
        siblings = catalogue.purposes((script.folder,)) - {parsed.what}
        problem = naming.validate("temporary", name, exists=siblings.__contains__)
        stem = temporary_stem(name, parsed.date)
        if problem is None:
            problem = naming.check_temporary(stem + ".py")
    else:
        siblings = catalogue.purposes(("recycle", "unrecycle")) - {script.stem}
        problem = naming.validate(script.kind, name, exists=siblings.__contains__)
        stem = name
    if problem is not None:
        hint = f" ({problem.fix})" if problem.fix else ""
        raise InvalidName(f"invalid name {name!r} for {folder}: {problem.message}{hint}")
    if stem == script.stem:
        raise MoveRefused(f"{script.display} is already named {name}; give it another name")
    target = Script(script.root, script.folder, stem + ".py")
    refuse_existing(script, target, choose="choose another name")
    return Move("rename", script, target)


class Mentions(NamedTuple):
    """What still names a script's old key: ``searched`` is False outside a git work tree."""

    key: str
    searched: bool
    found: tuple[Mention, ...] = ()


def mentions_of(root: os.PathLike[str] | str, key: str) -> Mentions:
    """The lines of the repository's tracked files that mention ``key`` (``recycle/x``, so
    also ``offline_script/recycle/x.py``) as a whole: cron files, CI configs, docs, other
    scripts. A plain text search (``git grep``); nothing is edited."""
    from pathlib import Path

    tree = work_tree(Path(root))
    if tree is None:
        return Mentions(key, False)
    return Mentions(key, True, tuple(tree.mentions([key])))
