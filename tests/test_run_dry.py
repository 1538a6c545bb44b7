"""Dry runs and the ledger's survival, with the app's own database on each of the three."""

from __future__ import annotations

import ast
import os
import signal
from pathlib import Path

import pytest
import sqlalchemy as sa
from runkit import ledger, opsctl, seed_shop, spawned, wait_for, write_project, write_script
from sqlalchemy.pool import NullPool

SEEDED = ([(1, "apple", 100), (2, "pear", 200), (3, "plum", 300)], [(1, "seeded")])

#: Inserts, updates and deletes on both binds, commits, changes more, rolls part back,
#: and reads its own writes back (they are visible inside the run).
CHANGE_SCRIPT = '''\
"""Change the shop through db.session."""
from flask import current_app, g
from opsctl import current_run, report
from shopapp import AuditEntry, Item, db


def main():
    g.marker = "set"
    db.session.add(Item(id=4, name="kiwi", price=400))
    db.session.get(Item, 1).price = 150
    db.session.delete(db.session.get(Item, 2))
    db.session.add(AuditEntry(id=2, text="changed"))
    db.session.commit()
    db.session.execute(db.update(Item).where(Item.id == 3).values(name="prune"))
    db.session.commit()
    db.session.add(Item(id=5, name="fig", price=500))
    db.session.rollback()                        # the script's own rollback
    db.session.remove()                          # a new session must be a dry one too
    db.session.add(Item(id=6, name="lime", price=600))
    db.session.commit()
    seen = sorted(i.name for i in Item.query.all())
    report(seen=seen, dry_run=current_run().dry_run, app=current_app.name, g=g.marker)
    print("seen", seen)
'''

AFTER = ([(1, "apple", 150), (3, "prune", 300), (4, "kiwi", 400), (6, "lime", 600)],
         [(1, "seeded"), (2, "changed")])


@pytest.fixture
def shop(tmp_path: Path, ledger_url: str) -> Path:
    project = write_project(tmp_path, ledger_url, app="shopapp:create_app",
                            database=ledger_url)
    seed_shop(project)
    write_script(project, "recycle/change", CHANGE_SCRIPT)
    return project


def snapshot(project: Path) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    """Every row of the shop's two tables, read here with plain SQL from the databases its
    ``shopapp.py`` names (no process started, nothing of the app imported)."""
    tree = ast.parse((project / "shopapp.py").read_text(encoding="utf-8"))
    urls = {target.id: ast.literal_eval(node.value) for node in tree.body
            if isinstance(node, ast.Assign) for target in node.targets
            if isinstance(target, ast.Name) and target.id in ("DATABASE", "AUDIT")}

    def rows(url: str, sql: str) -> list[tuple[object, ...]]:
        engine = sa.create_engine(url, poolclass=NullPool)
        try:
            with engine.connect() as conn:
                return [tuple(row) for row in conn.execute(sa.text(sql))]
        finally:
            engine.dispose()

    return (rows(urls["DATABASE"], "SELECT id, name, price FROM shop_item ORDER BY id"),
            rows(urls["AUDIT"], "SELECT id, text FROM shop_audit ORDER BY id"))


def test_dry_run_rolls_back_every_change_and_keeps_the_ledger_row(shop: Path,
                                                                  ledger_url: str) -> None:
    assert snapshot(shop) == SEEDED
    result = opsctl(shop, "run", "--dry-run", "recycle/change")
    assert result.returncode == 0, result.stderr
    # Inside the run the script saw its own changes...
    assert "seen ['apple', 'kiwi', 'lime', 'prune']" in result.stdout
    # ...and afterwards they are gone, on both binds.
    assert snapshot(shop) == SEEDED
    with ledger(ledger_url) as book:
        (run,) = book.runs("recycle/change")
    assert run.status == "succeeded" and run.dry_run is True
    assert run.summary == {"seen": ["apple", "kiwi", "lime", "prune"], "dry_run": True,
                           "app": "shopapp", "g": "set"}


def test_the_same_run_without_dry_run_changes_the_database(shop: Path,
                                                           ledger_url: str) -> None:
    result = opsctl(shop, "run", "recycle/change")
    assert result.returncode == 0, result.stderr
    assert snapshot(shop) == AFTER
    with ledger(ledger_url) as book:
        (run,) = book.runs("recycle/change")
    assert run.dry_run is False and run.summary["dry_run"] is False


def test_a_dry_run_that_fails_still_rolls_back(shop: Path, ledger_url: str) -> None:
    write_script(shop, "recycle/half", '''\
        """Change, commit, then fail."""
        from shopapp import Item, db

        def main():
            db.session.get(Item, 1).price = 1
            db.session.commit()
            raise RuntimeError("half way")
        ''')
    result = opsctl(shop, "run", "--dry-run", "recycle/half")
    assert result.returncode == 1
    assert snapshot(shop) == SEEDED
    with ledger(ledger_url) as book:
        (run,) = book.runs("recycle/half")
    assert run.status == "failed" and run.dry_run


@pytest.mark.parametrize(("body", "status", "code", "error"), [
    ('raise ValueError("bad row 7")', "failed", 1, "ValueError: bad row 7"),
    ("sys.exit(3)", "failed", 3, None),
    ("sys.exit(0)", "succeeded", 0, None),
    ('sys.exit("gave up")', "failed", 1, "gave up"),
    ("db.session.rollback()", "succeeded", 0, None),
    ("db.session.rollback(); raise KeyError('x')", "failed", 1, "KeyError: 'x'"),
], ids=["raises", "sys.exit(3)", "sys.exit(0)", "sys.exit(str)", "rolls-back", "rolls-back-raises"])
def test_the_ledger_survives_how_the_script_ends(shop: Path, ledger_url: str, body: str,
                                                 status: str, code: int,
                                                 error: str | None) -> None:
    write_script(shop, "recycle/ends", f'''\
        """End in some way after a change."""
        import sys
        from shopapp import Item, db

        def main():
            print("before the end")
            db.session.get(Item, 1).price = 999
            db.session.flush()
            {body}
        ''')
    result = opsctl(shop, "run", "recycle/ends")
    assert result.returncode == code, result.stderr
    assert "Traceback" not in result.stderr
    with ledger(ledger_url) as book:
        (run,) = book.runs("recycle/ends")
        assert book.holder("recycle/ends") is None
    assert (run.status, run.exit_code) == (status, code)
    assert "before the end" in (run.output_tail or "")
    if error is not None:
        assert error in (run.error or "")
    if status == "failed" and code == 1 and "raise" in body:
        assert "Traceback (most recent call last)" in (run.error or "")
        assert 'ends.py", line' in (run.error or "")
        assert f"opsctl history --run {run.id}" in result.stderr
        assert error is not None and error in result.stderr


def test_an_interrupted_dry_run_rolls_back(shop: Path, ledger_url: str, tmp_path: Path) -> None:
    started = tmp_path / "started"
    write_script(shop, "recycle/slow", f'''\
        """Change, commit, then wait to be stopped."""
        import time
        from pathlib import Path
        from shopapp import Item, db

        def main():
            db.session.get(Item, 1).price = 1
            db.session.commit()
            Path({str(started)!r}).write_text("x")
            time.sleep(60)
        ''')
    with spawned(shop, "run", "--dry-run", "recycle/slow") as proc:
        wait_for(started.exists, what="the script to start")
        os.kill(proc.pid, signal.SIGTERM)
        proc.wait(timeout=60)
        assert proc.returncode == 143
    assert snapshot(shop) == SEEDED
    with ledger(ledger_url) as book:
        (run,) = book.runs("recycle/slow")
    assert run.status == "interrupted" and run.dry_run
