"""What a newcomer meets first: what ``init`` says and leaves out of git, what a freshly
scaffolded script shows when run, ``new ts`` off the ``developers`` list, and where a
project's own templates live."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result
from conftest import git, write
from runkit import opsctl, write_project

from opsctl.config import load_config
from opsctl.gitops import ignored_entries
from opsctl.ledger.facts import local_files

Invoke = Callable[..., Result]

#: What init adds to .gitignore for the default ledger: the SQLite file (with its WAL files)
#: and the local journal beside it.
LEDGER_LINES = ["/instance/opsctl.sqlite3*", "/instance/opsctl-journal/"]


@pytest.fixture(autouse=True)
def _developer(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("OPSCTL_DEVELOPER", "ann")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg-state"))
    monkeypatch.delenv("FLASK_APP", raising=False)
    monkeypatch.delenv("OPSCTL_APP", raising=False)


def fresh(tmp_path: Path, pyproject: str = "[project]\nname = 'svc'\n") -> Path:
    proj = tmp_path / "svc"
    write(proj / "pyproject.toml", pyproject)
    return proj


def lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()


# -- init: the app it cannot find ------------------------------------------------------------

def test_init_says_it_found_no_app_and_the_line_to_add(invoke: Invoke, tmp_path: Path) -> None:
    proj = fresh(tmp_path)
    result = invoke(proj, "init")
    assert result.exit_code == 0, result.output
    said = [ln for ln in result.stderr.splitlines() if "no Flask app" in ln]
    assert len(said) == 1, result.stderr
    assert 'app = "yourpackage:create_app"' in said[0]
    assert "[tool.opsctl]" in said[0] and "pyproject.toml" in said[0]
    # The table init wrote has the line commented out, which is why it says so.
    assert '# app = "' in (proj / "pyproject.toml").read_text()
    again = invoke(proj, "init")  # still no app: said again, though nothing else is to do
    assert any("no Flask app" in ln for ln in again.stderr.splitlines())


@pytest.mark.parametrize("how", ["configured", "wsgi.py", "app.py", ".flaskenv", "package"])
def test_init_says_nothing_of_an_app_it_can_find(invoke: Invoke, tmp_path: Path,
                                                how: str) -> None:
    proj = fresh(tmp_path, "[tool.opsctl]\napp = 'svc:create_app'\n" if how == "configured"
                 else "[project]\nname = 'svc'\n")
    if how in ("wsgi.py", "app.py"):
        write(proj / how, "from flask import Flask\napp = Flask(__name__)\n")
    elif how == ".flaskenv":
        write(proj / ".flaskenv", "FLASK_APP=svc:create_app\n")
    elif how == "package":  # Flask's tutorial: flaskr/__init__.py with create_app
        write(proj / "flaskr" / "__init__.py",
              "from flask import Flask\n\n\ndef create_app():\n    return Flask(__name__)\n")
    result = invoke(proj, "init")
    assert result.exit_code == 0, result.output
    assert "no Flask app" not in result.stderr


# -- init: the ledger stays out of git -------------------------------------------------------

def test_init_ignores_the_default_ledger_and_says_so(invoke: Invoke, tmp_path: Path) -> None:
    proj = fresh(tmp_path)
    result = invoke(proj, "init")
    assert result.exit_code == 0, result.output
    assert lines(proj / ".gitignore")[-2:] == LEDGER_LINES
    assert any(ln.startswith("created .gitignore") and "instance/opsctl.sqlite3" in ln
               for ln in result.stdout.splitlines()), result.stdout
    again = invoke(proj, "init")
    assert again.exit_code == 0
    assert ".gitignore" not in again.stdout
    assert lines(proj / ".gitignore").count(LEDGER_LINES[0]) == 1


def test_init_appends_to_an_existing_gitignore(invoke: Invoke, tmp_path: Path) -> None:
    proj = fresh(tmp_path)
    write(proj / ".gitignore", "__pycache__/\n*.pyc")  # no newline at the end
    result = invoke(proj, "init")
    assert result.exit_code == 0, result.output
    assert lines(proj / ".gitignore")[:2] == ["__pycache__/", "*.pyc"]
    assert lines(proj / ".gitignore")[-2:] == LEDGER_LINES
    assert "updated .gitignore" in result.stdout


@pytest.mark.parametrize("rule", ["instance/", "/instance", "instance", "instance/*",
                                  "*.sqlite3*\nopsctl-journal/"])
def test_init_adds_nothing_git_ignores_already(invoke: Invoke, tmp_path: Path,
                                              rule: str) -> None:
    """Read from .gitignore outside a work tree."""
    proj = fresh(tmp_path)
    write(proj / ".gitignore", rule + "\n")
    result = invoke(proj, "init")
    assert result.exit_code == 0, result.output
    assert (proj / ".gitignore").read_text() == rule + "\n"
    assert ".gitignore" not in result.stdout


@pytest.mark.usefixtures("isolated_git")
def test_in_a_work_tree_git_says_what_is_ignored(invoke: Invoke, tmp_path: Path) -> None:
    """An ``instance/`` ignored by the repository's top-level .gitignore, above the project."""
    top = tmp_path / "repo"
    proj = top / "services" / "svc"
    write(proj / "pyproject.toml", "[project]\nname = 'svc'\n")
    write(top / ".gitignore", "instance/\n")
    git(top, "init", "-q")
    result = invoke(proj, "init")
    assert result.exit_code == 0, result.output
    assert not (proj / ".gitignore").exists()


@pytest.mark.usefixtures("isolated_git")
def test_the_ledger_files_stay_out_of_git(invoke: Invoke, tmp_path: Path) -> None:
    proj = fresh(tmp_path)
    git(proj, "init", "-q")
    assert invoke(proj, "init").exit_code == 0
    for name in ("opsctl.sqlite3", "opsctl.sqlite3-wal", "opsctl.sqlite3-shm",
                 "opsctl-journal/0123.json"):
        write(proj / "instance" / name, "")
    status = git(proj, "status", "--porcelain", "--untracked-files=all")
    assert "instance/" not in status, status
    assert ".gitignore" in status and "offline_script/README.md" in status


def test_a_ledger_elsewhere_leaves_only_the_journal(tmp_path: Path) -> None:
    proj = fresh(tmp_path, "[tool.opsctl]\nledger_url = 'postgresql://u@127.0.0.1/ops'\n")
    assert local_files(load_config(proj, environ={})) == ["instance/opsctl-journal/"]
    proj = fresh(tmp_path / "other", "[tool.opsctl]\nledger_url = 'sqlite:///var/ops.db'\n")
    assert local_files(load_config(proj, environ={})) == ["var/ops.db*",
                                                             "instance/opsctl-journal/"]
    outside = tmp_path / "elsewhere.db"
    proj = fresh(tmp_path / "third", f"[tool.opsctl]\nledger_url = 'sqlite:///{outside}'\n")
    assert local_files(load_config(proj, environ={})) == ["instance/opsctl-journal/"]


GITIGNORES = [
    "# a comment\ninstance/*\n!instance/keep.txt\n/build\n",
    "instance/\n!instance/keep.txt\n",  # nothing in an ignored folder is taken back
    "**/instance\nbuild/\n",
    "*.db\n!other.db\nsrc/\n",
    "opsctl.sqlite3\n",  # the ledger, not its WAL files
    "",
]
PROBED = ["instance/a.db", "instance/keep.txt", "build/x", "src/build/x", "other.db*",
          "instance/opsctl.sqlite3*", "instance/opsctl-journal/", "src/", "build"]


@pytest.mark.usefixtures("isolated_git")
@pytest.mark.parametrize("rules", GITIGNORES)
def test_reading_gitignore_agrees_with_git(tmp_path: Path, rules: str) -> None:
    """Outside a work tree the .gitignore is read by opsctl itself, as git would read it."""
    plain, repo = tmp_path / "plain", tmp_path / "repo"
    for folder in (plain, repo):
        write(folder / ".gitignore", rules)
    git(repo, "init", "-q")
    assert ignored_entries(plain, PROBED) == ignored_entries(repo, PROBED)


def test_reading_gitignore_without_git(tmp_path: Path) -> None:
    write(tmp_path / ".gitignore", GITIGNORES[0])
    assert ignored_entries(tmp_path, PROBED) == {"instance/a.db", "build/x", "build",
                                                 "instance/opsctl.sqlite3*",
                                                 "instance/opsctl-journal/"}


# -- a scaffolded script shows what it did ---------------------------------------------------

@pytest.mark.parametrize("kind", ["ts", "recycle"])
def test_a_new_script_run_says_what_it_did(tmp_path: Path, kind: str) -> None:
    project = write_project(tmp_path, f"sqlite:///{tmp_path / 'ledger.sqlite3'}",
                            app="shopapp:create_app", database="sqlite")
    made = opsctl(project, "new", kind, "export_orders")
    assert made.returncode == 0, made.stderr
    key = Path(made.stdout.strip()).relative_to("offline_script").with_suffix("").as_posix()
    ran = opsctl(project, "run", key)
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.splitlines() == ["export_orders: 0 done"]
    dry = opsctl(project, "run", "--dry-run", key)
    assert dry.returncode == 0, dry.stderr
    assert dry.stdout.splitlines() == ["export_orders: 0 done (dry run: rolled back)"]


# -- new ts off the developers list ----------------------------------------------------------

def test_new_ts_off_the_developers_list_says_how_to_get_on_it(invoke: Invoke,
                                                              project: Path) -> None:
    write(project / "pyproject.toml", "[tool.opsctl]\ndevelopers = ['bob', 'cai']\n")
    result = invoke(project, "new", "ts", "export_orders")
    assert result.exit_code == 1
    (line,) = result.stderr.strip().splitlines()
    assert "'ann'" in line and "OPSCTL_DEVELOPER" in line
    assert f"[tool.opsctl] developers in {project / 'pyproject.toml'}" in line
    assert 'developers = ["bob", "cai", "ann"]' in line
    assert "--developer" in line
    assert not (project / "offline_script" / "ann").exists()


def test_a_developers_list_from_the_environment_is_named_as_such(invoke: Invoke,
                                                                 project: Path) -> None:
    result = invoke(project, "new", "ts", "export_orders", env={"OPSCTL_DEVELOPERS": "bob"})
    assert result.exit_code == 1
    assert "OPSCTL_DEVELOPERS=bob,ann" in result.stderr
    assert "pyproject.toml" not in result.stderr


# -- project templates: under the root, not Flask's templates/ -------------------------------

TEMPLATE = '"""{{ description }} (house style)"""\n\n\ndef main() -> None:\n    pass\n'


def made(project: Path, name: str = "clear_cache") -> str:
    return (project / "offline_script" / "recycle" / f"{name}.py").read_text()


def test_project_templates_live_under_the_root(invoke: Invoke, project: Path) -> None:
    write(project / "offline_script" / ".templates" / "recycle.py.jinja", TEMPLATE)
    result = invoke(project, "new", "recycle", "clear_cache")
    assert result.exit_code == 0, result.output
    assert made(project).startswith('"""Clear cache. (house style)"""')
    assert result.stderr == ""
    # Hidden under the root: neither a developer folder to the lint nor a script to list.
    lint = invoke(project, "lint")
    assert lint.exit_code == 0, lint.output
    listed = invoke(project, "list", "--json", "--no-runs")
    assert ".templates" not in listed.stdout


def test_the_old_templates_folder_is_read_with_a_note(invoke: Invoke, project: Path) -> None:
    write(project / "templates" / "recycle.py.jinja", TEMPLATE)
    write(project / "templates" / "index.html", "<h1>Flask's own</h1>\n")
    result = invoke(project, "new", "recycle", "clear_cache")
    assert result.exit_code == 0, result.output
    assert made(project).startswith('"""Clear cache. (house style)"""')
    (note,) = result.stderr.splitlines()
    assert "templates/recycle.py.jinja" in note and "deprecated" in note
    assert "offline_script/.templates/" in note
    # The new place wins, and then the old one is not read: no note.
    write(project / "offline_script" / ".templates" / "recycle.py.jinja",
          TEMPLATE.replace("house style", "new place"))
    again = invoke(project, "new", "recycle", "export_orders")
    assert made(project, "export_orders").startswith('"""Export orders. (new place)"""')
    assert again.stderr == ""


OWN_TS = ('"""{{ description }}\n\nScratch by {{ developer }} ({{ date }}); promote it: opsctl '
          'promote {{ key }}\n"""\n\n\ndef main() -> None:\n    pass\n')
OWN_RECYCLE = '"""{{ description }}\n\nShared: run {{ key }} as often as needed.\n"""\n'


@pytest.mark.parametrize("where", ["offline_script/.templates", "templates"])
def test_promote_rewords_what_the_project_s_template_wrote(invoke: Invoke, project: Path,
                                                           where: str) -> None:
    """Promote recognises a ts template's words where new found the template, the
    deprecated folder included."""
    write(project / where / "ts.py.jinja", OWN_TS)
    write(project / where / "recycle.py.jinja", OWN_RECYCLE)
    made = invoke(project, "new", "ts", "export_orders", "-m", "Export the orders.")
    assert made.exit_code == 0, made.output
    ts = project / made.stdout.strip()
    assert "Scratch by ann" in ts.read_text()
    promoted = invoke(project, "promote", f"ann/{ts.stem}")
    assert promoted.exit_code == 0, promoted.output
    text = (project / "offline_script/recycle/export_orders.py").read_text()
    assert text.startswith('"""Export the orders.\n\nShared: run recycle/export_orders as '
                           'often as needed.\n"""\n'), text


def test_flask_s_templates_folder_is_not_read(invoke: Invoke, project: Path) -> None:
    """A Flask ``templates/`` without opsctl templates is not opsctl's: the built-in
    template is used, and nothing is said of it."""
    write(project / "templates" / "index.html", "<h1>Flask's own</h1>\n")
    result = invoke(project, "new", "ts", "export_orders")
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    assert "Temporary script by ann" in (project / result.stdout.strip()).read_text()


def test_a_configured_templates_folder(invoke: Invoke, project: Path) -> None:
    write(project / "pyproject.toml", "[tool.opsctl]\ntemplates = 'ops/templates'\n")
    write(project / "ops" / "templates" / "recycle.py.jinja", TEMPLATE)
    write(project / "templates" / "recycle.py.jinja", "old\n")
    result = invoke(project, "new", "recycle", "clear_cache")
    assert result.exit_code == 0, result.output
    assert made(project).startswith('"""Clear cache. (house style)"""')
    assert result.stderr == ""


@pytest.mark.usefixtures("isolated_git")
def test_in_a_work_tree_ignored_entries_asks_git(tmp_path: Path) -> None:
    """Git reads every .gitignore above the folder, and the repository's exclude file."""
    top = tmp_path / "repo"
    write(top / ".gitignore", "*.sqlite3*\n")
    write(top / "svc" / "x", "")
    git(top, "init", "-q")
    assert ignored_entries(top / "svc", ["instance/opsctl.sqlite3*",
                                         "instance/opsctl-journal/"]) == \
        {"instance/opsctl.sqlite3*"}


# -- the suite's own database servers --------------------------------------------------------

def test_an_unreachable_test_server_names_the_url_tried() -> None:
    from conftest import server_database

    tried = server_database("postgresql+psycopg://ops:hunter2@127.0.0.1:9", "OPSCTL_TEST_PG")
    with pytest.raises((pytest.skip.Exception, pytest.fail.Exception)) as outcome:
        next(tried)
    said = str(outcome.value)
    assert "PostgreSQL at postgresql+psycopg://ops:***@127.0.0.1:9/postgres" in said, said
    assert "is not reachable" in said and "set OPSCTL_TEST_PG" in said
    assert "hunter2" not in said


def _shape(url: str) -> dict[str, object]:
    """What a test could find in the database at ``url`` besides its own doing: tables,
    views, sequences, schemas (with owner and rights) and settings."""
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            if url.startswith("postgresql"):
                return {
                    "relations": conn.execute(sa.text(
                        "SELECT relname FROM pg_class c JOIN pg_namespace n ON n.oid = "
                        "c.relnamespace WHERE nspname NOT LIKE 'pg\\_%' AND nspname <> "
                        "'information_schema'")).scalars().all(),
                    "schemas": conn.execute(sa.text(
                        "SELECT nspname, pg_get_userbyid(nspowner), nspacl::text FROM "
                        "pg_namespace WHERE nspname NOT LIKE 'pg\\_%' AND nspname <> "
                        "'information_schema' ORDER BY 1")).all(),
                    "read only": conn.execute(sa.text(
                        "SHOW default_transaction_read_only")).scalar(),
                }
            return {"tables": conn.execute(sa.text(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = "
                "DATABASE()")).scalars().all(),
                "charset": conn.execute(sa.text(
                    "SELECT @@character_set_database, @@collation_database")).one()}
    finally:
        engine.dispose()


@pytest.mark.slow
@pytest.mark.parametrize("server", ["postgresql", "mariadb"])
def test_a_database_given_to_the_next_test_is_as_new(server: str) -> None:
    """The suite's server databases are made once per worker and emptied between tests:
    the next test finds nothing the last one left, not even a connection it left open."""
    import sqlalchemy as sa
    from conftest import MARIADB_SERVER, MARIADB_VARIABLE, PG_SERVER, PG_VARIABLE, server_database

    where = (PG_SERVER, PG_VARIABLE) if server == "postgresql" else \
        (MARIADB_SERVER, MARIADB_VARIABLE)
    first = server_database(*where)
    url = next(first)
    new = _shape(url)
    engine = sa.create_engine(url)
    left_open = engine.connect()
    try:
        left_open.execute(sa.text("CREATE TABLE leftover (id INTEGER PRIMARY KEY)"))
        left_open.execute(sa.text("CREATE VIEW leftover_view AS SELECT id FROM leftover"))
        if server == "postgresql":
            left_open.execute(sa.text("CREATE SCHEMA elsewhere"))
            left_open.execute(sa.text("CREATE SEQUENCE elsewhere.numbers"))
            left_open.execute(sa.text("CREATE TYPE mood AS ENUM ('ok')"))
            name = sa.engine.make_url(url).database
            left_open.execute(sa.text(f"ALTER DATABASE {name} "
                                      "SET default_transaction_read_only = on"))
        else:
            left_open.execute(sa.text("ALTER DATABASE CHARACTER SET latin1"))
        left_open.commit()
        left_open.execute(sa.text("INSERT INTO leftover VALUES (1)"))  # a transaction held
        assert _shape(url) != new
        first.close()  # the test's end
        second = server_database(*where)
        assert next(second) == url  # the same database, given again
        try:
            assert _shape(url) == new
            again = sa.create_engine(url)
            with again.begin() as conn:  # writable, and the name free
                conn.execute(sa.text("CREATE TABLE leftover (id INTEGER PRIMARY KEY)"))
            again.dispose()
        finally:
            second.close()
        with pytest.raises(sa.exc.DBAPIError):  # the connection left open was ended
            left_open.execute(sa.text("SELECT 1"))
    finally:
        left_open.invalidate()
        engine.dispose()


def test_the_readme_says_how_the_suite_finds_its_servers() -> None:
    from conftest import MARIADB_VARIABLE, PG_VARIABLE, REPO

    readme = (REPO / "README.md").read_text(encoding="utf-8")
    development = readme[readme.index("## Development"):]
    for variable in (PG_VARIABLE, MARIADB_VARIABLE):
        assert f"`{variable}`" in development, variable
    assert "CREATE DATABASE" in development
