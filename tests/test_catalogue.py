from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest
from conftest import write

from opsctl.catalogue import Catalogue, read_description
from opsctl.errors import OutsideRoot, ScriptNotFound


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "offline_script"
    write(root / "recycle" / "clear_cache.py", '"""Clear the cache."""\n')
    write(root / "recycle" / "export_order.py")
    write(root / "unrecycle" / "flush_order_data.py")
    write(root / "yuzaoyah" / "ts_2024_06_10_export_custom_s.py")
    write(root / "yuzaoyah" / "ts_2024_06_11_clear_cache.py")
    write(root / "yuzaoyah" / "notes.txt", "not a script")
    write(root / "yuzaoyah" / "__init__.py", "")
    write(root / "loose.py")
    write(root / "recycle" / "nested" / "deep.py")
    return root


def test_discovers_scripts_only(tree: Path) -> None:
    keys = [s.key for s in Catalogue(tree)]
    assert keys == [
        "recycle/clear_cache", "recycle/export_order", "unrecycle/flush_order_data",
        "yuzaoyah/ts_2024_06_10_export_custom_s", "yuzaoyah/ts_2024_06_11_clear_cache",
    ]


def test_parses_kind_owner_date(tree: Path) -> None:
    scripts = {s.key: s for s in Catalogue(tree)}
    ts = scripts["yuzaoyah/ts_2024_06_10_export_custom_s"]
    assert (ts.kind, ts.owner, ts.date) == ("temporary", "yuzaoyah", dt.date(2024, 6, 10))
    rc = scripts["recycle/clear_cache"]
    assert (rc.kind, rc.owner, rc.date) == ("recycle", None, None)
    assert scripts["unrecycle/flush_order_data"].kind == "unrecycle"


@pytest.mark.parametrize("text", [
    "recycle/clear_cache", "recycle/clear_cache.py", "offline_script/recycle/clear_cache.py",
])
def test_resolve_forms(tree: Path, text: str) -> None:
    cat = Catalogue(tree)
    assert cat.resolve(text, cwd=tree.parent).key == "recycle/clear_cache"


def test_resolve_absolute_path_and_bare_name(tree: Path) -> None:
    cat = Catalogue(tree)
    path = tree / "unrecycle" / "flush_order_data.py"
    assert cat.resolve(str(path), cwd=Path("/")).key == "unrecycle/flush_order_data"
    assert cat.resolve("flush_order_data", cwd=Path("/")).key == "unrecycle/flush_order_data"
    assert cat.resolve("export_order.py", cwd=Path("/")).key == "recycle/export_order"


def test_resolve_from_inside_a_folder(tree: Path) -> None:
    cat = Catalogue(tree)
    assert cat.resolve("ts_2024_06_11_clear_cache.py", cwd=tree / "yuzaoyah").key == \
        "yuzaoyah/ts_2024_06_11_clear_cache"


@pytest.mark.parametrize("spelling", ["dotdot", "symlink"])
def test_a_bare_name_picks_the_current_folder_however_the_root_is_spelled(
        tree: Path, tmp_path: Path, spelling: str) -> None:
    """Two developers have a script of the same name: the one in the current folder wins,
    with the root reached through ``..`` or a symlink (the current folder is a real path)."""
    for dev in ("alice", "bob"):
        write(tree / dev / "ts_2026_11_20_say_hi.py")
    if spelling == "dotdot":
        root = tree / "alice" / ".."
    else:
        root = tmp_path / "link"
        root.symlink_to(tree)
    cat = Catalogue(root)
    assert cat.resolve("ts_2026_11_20_say_hi", cwd=tree / "alice").key == \
        "alice/ts_2026_11_20_say_hi"


def test_ambiguous_bare_name_names_both(tree: Path) -> None:
    write(tree / "unrecycle" / "export_order.py")
    with pytest.raises(ScriptNotFound, match="ambiguous.*recycle/export_order.*unrecycle"):
        Catalogue(tree).resolve("export_order", cwd=Path("/"))


def test_unknown_suggests_closest(tree: Path) -> None:
    with pytest.raises(ScriptNotFound, match="did you mean recycle/clear_cache"):
        Catalogue(tree).resolve("recycle/clear_cach", cwd=Path("/"))
    with pytest.raises(ScriptNotFound, match="clear_cache"):
        Catalogue(tree).resolve("claer_cache", cwd=Path("/"))


@pytest.mark.parametrize("text", ["../x", "../../etc/passwd", "/etc/passwd", "recycle/../../x"])
def test_outside_root_refused(tree: Path, text: str) -> None:
    with pytest.raises(OutsideRoot, match="outside the offline-script root"):
        Catalogue(tree).resolve(text, cwd=tree)


def test_symlink_out_refused(tree: Path, tmp_path: Path) -> None:
    outside = write(tmp_path / "elsewhere" / "evil.py")
    os.symlink(outside, tree / "recycle" / "evil.py")
    with pytest.raises(OutsideRoot):
        Catalogue(tree).resolve("recycle/evil", cwd=tree)


def test_not_a_script_position(tree: Path) -> None:
    with pytest.raises(ScriptNotFound, match="not a script"):
        Catalogue(tree).resolve(str(tree / "loose.py"), cwd=tree)
    with pytest.raises(ScriptNotFound, match="not a script"):
        Catalogue(tree).resolve("recycle/nested/deep.py", cwd=tree)


def test_missing_root_is_empty(tmp_path: Path) -> None:
    assert list(Catalogue(tmp_path / "nope")) == []


def test_odd_names_survive(tree: Path) -> None:
    write(tree / "yuzaoyah" / "ts_2024_06_10_with space.py")
    write(tree / "yuzaoyah" / "ts_2024_06_10_订单.py")
    write(tree / "yuzaoyah" / ".hidden.py")
    bad = os.fsencode(tree / "yuzaoyah") + b"/ts_2024_06_10_\xff\xfe.py"
    with open(bad, "wb") as fh:
        fh.write(b"\x00\x01binary")
    scripts = list(Catalogue(tree))
    displays = {s.display for s in scripts}
    assert "yuzaoyah/ts_2024_06_10_with space" in displays
    assert "yuzaoyah/ts_2024_06_10_订单" in displays
    assert "yuzaoyah/ts_2024_06_10_\ufffd\ufffd" in displays
    assert not any(".hidden" in d for d in displays)


@pytest.mark.parametrize(("text", "expected"), [
    ('"""Export orders."""\n', "Export orders."),
    ("#!/usr/bin/env python\n# -*- coding: utf-8 -*-\n'''Fix rows.\n\nMore.'''\n", "Fix rows."),
    ('r"""Raw doc."""\n', "Raw doc."),
    ('"""\nStarts on the next line.\n"""\n', "Starts on the next line."),
    ("import os\n", ""),
    ("", ""),
])
def test_read_description(tmp_path: Path, text: str, expected: str) -> None:
    assert read_description(write(tmp_path / "s.py", text)) == expected


def test_read_description_binary(tmp_path: Path) -> None:
    path = tmp_path / "b.py"
    path.write_bytes(b"\x00\xff\xfe")
    assert read_description(path) == "(binary file)"
    path.write_bytes(b'"""Caf\xe9 latin-1."""\n')
    assert read_description(path) == "Caf\ufffd latin-1."


def test_bare_name_symlink_out_refused(tree: Path, tmp_path: Path) -> None:
    outside = write(tmp_path / "elsewhere" / "evil.py")
    os.symlink(outside, tree / "recycle" / "evil.py")
    with pytest.raises(OutsideRoot, match="outside the offline-script root"):
        Catalogue(tree).resolve("evil", cwd=tree)


def test_bare_name_not_shadowed_by_a_file_in_cwd(tree: Path) -> None:
    write(tree.parent / "clear_cache.py", "print('not a script')\n")
    write(tree.parent / "export_order.py")
    cat = Catalogue(tree)
    assert cat.resolve("clear_cache", cwd=tree.parent).key == "recycle/clear_cache"
    assert cat.resolve("export_order.py", cwd=tree.parent).key == "recycle/export_order"


def test_bare_purpose_of_a_temporary_script(tree: Path) -> None:
    cat = Catalogue(tree)
    assert cat.resolve("export_custom_s", cwd=Path("/")).key == \
        "yuzaoyah/ts_2024_06_10_export_custom_s"
    # clear_cache is a recycle script's own name: that wins over a temporary purpose.
    assert cat.resolve("clear_cache", cwd=Path("/")).key == "recycle/clear_cache"


def test_ambiguous_name_settled_by_the_current_folder(tree: Path) -> None:
    write(tree / "unrecycle" / "export_order.py")
    assert Catalogue(tree).resolve("export_order", cwd=tree / "unrecycle").key == \
        "unrecycle/export_order"


def test_suggestions_ranked_by_closeness(tree: Path) -> None:
    write(tree / "yuzaoyah" / "ts_2024_06_12_seed_users.py")
    write(tree / "yuzaoyah" / "ts_2024_06_12_seed_orders.py")
    with pytest.raises(ScriptNotFound) as info:
        Catalogue(tree).resolve("ts_2024_06_12_seed_user", cwd=Path("/"))
    assert "did you mean yuzaoyah/ts_2024_06_12_seed_users," in info.value.message
    assert info.value.exit_code == 74
