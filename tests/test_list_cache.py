"""The listing cache's layout: names compared in the folder's own order but always printed
sorted, and each folder's JSON kept in ``listing.json`` beside the cache file, which a list
ignores (and writes again) when it is gone, truncated or another process's."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

import pytest
from conftest import write

from opsctl.listing import folders
from opsctl.listing.entries import scripts_of
from opsctl.listing.folders import Listing
from opsctl.listing.show import list_scripts
from opsctl.project import Project

TODAY = dt.date.today()
NAMES = [f"export_{word}_rows.py" for word in ("zinc", "apple", "mango", "kiwi", "berry",
                                                  "lemon", "fig", "date", "cherry", "olive")]


@pytest.fixture
def many(project: Path) -> Path:
    root = project / "offline_script"
    for name in NAMES:
        write(root / "recycle" / name, f'"""Export {name.split("_")[1]} rows."""\n')
    write(root / "unrecycle" / "fix_refund_totals.py", '"""Fix refund totals."""\n')
    write(root / "ann" / "ts_2020_01_02_check_stock.py", '"""Check stock."""\n')
    return project


def keys(project: Path, **filters: str) -> list[str]:
    return [e["key"] for e in json.loads(Listing(Project(project), filters.get("kind"),
                                                 None).json_bytes())]


EXPECTED = [f"recycle/{name[:-3]}" for name in sorted(NAMES)] + [
    "unrecycle/fix_refund_totals", "ann/ts_2020_01_02_check_stock"]


@pytest.mark.parametrize("order", ["reversed", "rotated"])
def test_scripts_are_listed_sorted_whatever_order_the_folder_gives(
        many: Path, monkeypatch: pytest.MonkeyPatch, order: str) -> None:
    """The cache compares a folder's names in the order the folder gives them; the output is
    the catalogue's order (names sorted) cold, warm, and when the folder's order changes."""

    def shuffled(root: str, ordered: bool = True) -> list[tuple[str, list[str]]]:
        found = scripts_of(root, ordered)
        assert not ordered  # the listing leaves the sorting to its cache
        return [(folder, names[::-1] if order == "reversed" else names[3:] + names[:3])
                for folder, names in found]

    assert keys(many) == EXPECTED  # cold, the folder's own order
    monkeypatch.setattr(folders, "scripts_of", shuffled)
    for _ in range(2):  # a new order (the cache misses, reads nothing), then warm
        assert keys(many) == EXPECTED
        rows = list_scripts(Project(many), with_runs=False)
        assert [f"{e.folder}/{e.filename[:-3]}" for e in rows] == EXPECTED


def test_a_new_script_takes_its_sorted_place(many: Path) -> None:
    keys(many)
    write(many / "offline_script" / "recycle" / "export_grape_rows.py", '"""Grapes."""\n')
    found = keys(many)
    recycle = [k for k in found if k.startswith("recycle/")]
    assert recycle == sorted(recycle) and "recycle/export_grape_rows" in recycle


def side(project: Path) -> Path:
    return project / ".opsctl_cache" / "listing.json"


def described(project: Path) -> dict[str, str]:
    return {e["key"]: e["description"]
            for e in json.loads(Listing(Project(project), None, None).json_bytes())}


@pytest.mark.parametrize("damage", ["gone", "truncated", "another process's", "emptied"])
def test_a_damaged_json_file_is_ignored_and_written_again(many: Path, damage: str) -> None:
    first = described(many)
    assert first["recycle/export_zinc_rows"] == "Export zinc rows."
    data = side(many).read_bytes()
    assert b'"Export zinc rows."' in data
    if damage == "gone":
        side(many).unlink()
    elif damage == "truncated":
        side(many).write_bytes(data[:len(data) // 2])
    elif damage == "another process's":  # same size, another token: its spans are not ours
        side(many).write_bytes(os.urandom(16) + data[16:].replace(b"zinc", b"ZINC"))
    else:
        side(many).write_bytes(b"")
    assert described(many) == first
    assert side(many).read_bytes()[16:] == data[16:]  # written again, as it was
    assert described(many) == first  # and believed again


def test_a_filtered_list_keeps_the_other_folders_parts(many: Path) -> None:
    whole = Listing(Project(many), None, None).json_bytes()
    assert keys(many, kind="unrecycle") == ["unrecycle/fix_refund_totals"]
    # The other folders' parts moved with the file: the next full list prints them unread.
    again = Listing(Project(many), None, None)
    assert all(again.cache.entries[f][3] is not None  # type: ignore[union-attr]
               for f in ("recycle", "unrecycle", "ann"))
    assert again.json_bytes() == whole


def test_an_edit_changes_only_its_folders_part(many: Path) -> None:
    described(many)
    script = many / "offline_script" / "ann" / "ts_2020_01_02_check_stock.py"
    script.write_text('"""Check stock twice."""\n', encoding="utf-8")
    found = described(many)
    assert found["ann/ts_2020_01_02_check_stock"] == "Check stock twice."
    assert found["recycle/export_zinc_rows"] == "Export zinc rows."
    assert described(many) == found


def test_an_empty_folder_and_an_empty_tree(project: Path) -> None:
    (project / "offline_script" / "bob").mkdir()
    for _ in range(2):
        assert Listing(Project(project), None, None).json_bytes() == b"[]\n"
    write(project / "offline_script" / "bob" / "ts_2020_01_02_check_stock.py")
    for _ in range(2):
        assert keys(project) == ["bob/ts_2020_01_02_check_stock"]
