"""opsctl's Alembic filter (:mod:`opsctl.ledger.alembic`) against Alembic's own autogenerate,
and a project's ``env.py`` found, read and changed (:mod:`opsctl.ledger.migrations`): every
``env.py`` template Alembic and Flask-Migrate ship is changed into one that uses the filter.

The end-to-end proof, ``flask db migrate`` twice in a real project, is in
``test_flask_migrate.py``.
"""

from __future__ import annotations

import ast
import importlib.util
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from opsctl.ledger import schema
from opsctl.ledger.alembic import (
    exclude_ledger,
    excludes_ledger,
    include_name,
    include_object,
    ledger_tables,
)
from opsctl.ledger.migrations import (
    IMPORT_LINE,
    diff,
    find_env_script,
    read_env_script,
    to_wire,
    wire,
)
from opsctl.ledger.store import Ledger


def templates() -> list[Path]:
    """Every env.py Alembic and Flask-Migrate ship."""
    found = []
    for package in ("alembic", "flask_migrate"):
        spec = importlib.util.find_spec(package)
        assert spec is not None and spec.origin is not None
        found += sorted((Path(spec.origin).parent / "templates").glob("*/env.py"))
    assert len(found) >= 8  # alembic's five, Flask-Migrate's four
    return found


# ------------------------------------------------------------------------ the filter


def test_the_tables_are_the_schema_s_own() -> None:
    """The schema's tables, and the latest runs some databases keep (opsctl.ledger.latest)."""
    assert ledger_tables() == frozenset(t.name for t in schema.METADATA.sorted_tables) | {
        "opsctl_latest"}
    assert {"opsctl_runs", "opsctl_locks", "opsctl_moves", "opsctl_meta"} <= ledger_tables()


def test_include_name_leaves_out_the_ledger_tables_and_what_is_in_them() -> None:
    assert include_name("opsctl_runs", "table", {}) is False
    assert include_name("ix_opsctl_runs_status", "index",
                        {"table_name": "opsctl_runs", "schema_name": None}) is False
    assert include_name("customer", "table", {}) is True
    assert include_name("ix_customer_name", "index", {"table_name": "customer"}) is True
    assert include_name(None, "schema", {}) is True
    assert include_name("opsctl_runs_archive", "table", {}) is True  # a name, not a prefix


def test_include_object_leaves_out_the_ledger_tables_and_what_is_in_them() -> None:
    meta = sa.MetaData()
    runs = sa.Table("opsctl_runs", meta, sa.Column("id", sa.Integer, primary_key=True))
    index = sa.Index("ix_opsctl_runs_id", runs.c.id)
    customer = sa.Table("customer", meta, sa.Column("id", sa.Integer, primary_key=True))
    assert include_object(runs, "opsctl_runs", "table", True, None) is False
    assert include_object(index, index.name, "index", True, None) is False
    assert include_object(runs.c.id, "id", "column", True, None) is False
    assert include_object(customer, "customer", "table", False, None) is True
    assert include_object(customer.c.id, "id", "column", False, None) is True


def test_exclude_ledger_wraps_the_project_s_own_filters_and_keeps_other_keywords() -> None:
    seen: list[str] = []

    def theirs(obj: Any, name: str | None, type_: str, reflected: bool, to: Any) -> bool:
        seen.append(str(name))
        return name != "legacy"

    def render(*args: Any) -> bool:
        return False

    args = exclude_ledger({"include_object": theirs, "compare_type": True},
                          render_item=render)
    assert args["compare_type"] is True and args["render_item"] is render
    assert args["include_name"] is include_name  # the project had none
    hook = args["include_object"]
    assert hook(None, "opsctl_runs", "table", True, None) is False
    assert hook(None, "legacy", "table", True, None) is False
    assert hook(None, "customer", "table", True, None) is True
    assert seen == ["legacy", "customer"]  # never asked about the ledger's tables
    # Twice (env.py and Migrate(...) both): the same filters, the project's kept.
    again = exclude_ledger(args)
    assert again["include_object"] is hook and again["include_name"] is include_name
    assert excludes_ledger(hook) and excludes_ledger(include_name)
    assert not excludes_ledger(theirs) and not excludes_ledger(None)


def _autogenerate(url: str, target: sa.MetaData, **options: Any) -> list[Any]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return compare_metadata(MigrationContext.configure(conn, opts=options), target)
    finally:
        engine.dispose()


def test_alembic_autogenerate_drops_the_ledger_unless_filtered(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'app.sqlite3'}"
    Ledger.open(url).close()  # the ledger's tables, in the app's database
    app = sa.MetaData()
    sa.Table("customer", app, sa.Column("id", sa.Integer, primary_key=True))

    unfiltered = _autogenerate(url, app)
    dropped = {d[1].name for d in unfiltered if d[0] == "remove_table"}
    assert dropped == set(ledger_tables())  # what the issue saw

    filtered = _autogenerate(url, app, **exclude_ledger())
    assert [(d[0], d[1].name) for d in filtered] == [("add_table", "customer")]
    # include_name alone already keeps them from being reflected at all.
    named = _autogenerate(url, app, include_name=include_name)
    assert [(d[0], d[1].name) for d in named] == [("add_table", "customer")]


# ------------------------------------------------------------------------ env.py


@pytest.mark.parametrize("template", templates(), ids=lambda p: p.parent.name)
def test_every_shipped_env_py_is_changed_to_use_the_filter(template: Path,
                                                           tmp_path: Path) -> None:
    env_py = tmp_path / "migrations" / "env.py"
    env_py.parent.mkdir()
    original = template.read_text(encoding="utf-8")
    env_py.write_text(original, encoding="utf-8")

    env = to_wire(tmp_path)
    assert env is not None and env.path == env_py and not env.wired
    assert env.changed is not None
    shown = diff(env, "migrations/env.py")
    assert f"+{IMPORT_LINE}" in shown
    assert any(line.startswith("+") and "exclude_ledger(" in line for line in shown)
    wire(env)
    assert read_env_script(env_py).wired and to_wire(tmp_path) is None

    # Every online configure() (the one autogenerate compares through) gets the filter, and
    # nothing else changed: the lines taken away are only the ones the filter went into.
    changed = env_py.read_text(encoding="utf-8")
    for call in ast.walk(ast.parse(changed)):
        if isinstance(call, ast.Call) and getattr(call.func, "attr", None) == "configure" \
                and any(k.arg == "connection" for k in call.keywords):
            assert "exclude_ledger(" in ast.unparse(call)
    removed = [ln for ln in shown if ln.startswith("-") and not ln.startswith("---")]
    assert all("conf_args" in ln or "target_metadata" in ln for ln in removed), removed


@pytest.mark.parametrize(("source", "wired"), [
    ("from opsctl.ledger.alembic import include_name\n"
     "context.configure(connection=c, include_name=include_name)\n", True),
    ("from opsctl.ledger.alembic import exclude_ledger as keep\n"
     "context.configure(connection=c, **keep(conf_args))\n", True),
    ("import opsctl.ledger.alembic\n"
     "context.configure(connection=c, include_object=opsctl.ledger.alembic.include_object)\n",
     True),
    ("from opsctl.ledger import alembic as keep\n"
     "context.configure(connection=c, include_name=keep.include_name)\n", True),
    ("from opsctl.ledger.alembic import include_name\n"  # imported, never given
     "context.configure(connection=c)\n", False),
    ("def include_name(*a):\n    return True\n"  # a filter of the same name, not opsctl's
     "context.configure(connection=c, include_name=include_name)\n", False),
], ids=["bare-filter", "aliased-helper", "module-import", "package-import", "unused-import",
        "own-namesake"])
def test_what_counts_as_using_the_filter(tmp_path: Path, source: str, wired: bool) -> None:
    path = tmp_path / "env.py"
    path.write_text("from alembic import context\n" + source, encoding="utf-8")
    assert read_env_script(path).wired is wired


@pytest.mark.parametrize("source", [
    # The project's own filter as a keyword: how it combines with opsctl's is its call.
    "from alembic import context\n\n\ndef keep(*a):\n    return True\n\n\n"
    "context.configure(connection=c, include_object=keep)\n",
    # No configure() given a connection: nothing that autogenerate compares through.
    "from alembic import context\n\ncontext.configure(url='sqlite://')\n",
    "from alembic import context\n\ncontext.configure(connection=\n",  # not Python
], ids=["own-filter", "offline-only", "syntax-error"])
def test_an_env_py_a_person_should_change_is_left_alone(tmp_path: Path, source: str) -> None:
    (tmp_path / "migrations").mkdir()
    (tmp_path / "migrations" / "env.py").write_text(source, encoding="utf-8")
    env = to_wire(tmp_path)
    assert env is not None and not env.wired and env.changed is None
    with pytest.raises(ValueError):
        wire(env)


def test_a_single_line_call_and_a_trailing_comma_stay_python(tmp_path: Path) -> None:
    path = tmp_path / "env.py"
    path.write_text(
        '"""Migrations."""\nfrom alembic import context\n\n'
        "context.configure(connection=c, target_metadata=m)  # online\n"
        "context.configure(\n    connection=c,\n    target_metadata=m,\n)\n"
        "x = 1\n", encoding="utf-8")
    changed = read_env_script(path).changed
    assert changed == (
        f'"""Migrations."""\nfrom alembic import context\n{IMPORT_LINE}\n\n'
        "context.configure(connection=c, target_metadata=m, **exclude_ledger())  # online\n"
        "context.configure(\n    connection=c,\n    target_metadata=m,\n"
        "    **exclude_ledger(),\n)\n"
        "x = 1\n")


def test_the_env_py_is_found_where_alembic_would_look(tmp_path: Path) -> None:
    assert find_env_script(tmp_path) is None
    # alembic.ini's script_location, with %(here)s ...
    (tmp_path / "alembic.ini").write_text(
        "[alembic]\nscript_location = %(here)s/db/alembic\n", encoding="utf-8")
    ini_env = tmp_path / "db" / "alembic" / "env.py"
    ini_env.parent.mkdir(parents=True)
    ini_env.write_text("", encoding="utf-8")
    assert find_env_script(tmp_path) == ini_env
    # ... Flask-Migrate's migrations/ first ...
    flask_env = tmp_path / "migrations" / "env.py"
    flask_env.parent.mkdir()
    flask_env.write_text("", encoding="utf-8")
    assert find_env_script(tmp_path) == flask_env
    # ... unless Migrate(directory=...) says where.
    other = tmp_path / "db_migrations" / "env.py"
    other.parent.mkdir()
    other.write_text("", encoding="utf-8")
    assert find_env_script(tmp_path, "db_migrations") == other
    assert find_env_script(tmp_path, "nowhere") is None


def test_a_pyproject_or_package_script_location(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[tool.alembic]\nscript_location = "%(here)s/alembic"\n', encoding="utf-8")
    env = tmp_path / "alembic" / "env.py"
    env.parent.mkdir()
    env.write_text("", encoding="utf-8")
    assert find_env_script(tmp_path) == env
    (tmp_path / "pyproject.toml").write_text(
        '[tool.alembic]\nscript_location = "myapp:alembic"\n', encoding="utf-8")
    assert find_env_script(tmp_path) is None  # a package location is not looked into


def test_importing_the_filter_loads_no_sqlalchemy() -> None:
    import subprocess
    import sys

    code = ("import sys, opsctl.ledger.alembic, opsctl.ledger.migrations; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('sqlalchemy', 'alembic', 'flask', 'flask_migrate')))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    assert done.stdout.strip() == "[]"
