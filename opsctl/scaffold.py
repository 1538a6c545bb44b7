"""Scaffolding: ``opsctl init`` (the layout) and ``opsctl new`` (a script from a template, and
with ``--test`` a test of it beside the project's tests).

Templates are Jinja files named ``<kind>.py.jinja``. The built-in ones ship in the wheel as
``opsctl/_templates`` (they come from the repository's ``templates/``); a project's templates
folder (``<root>/.templates/``, or ``templates`` in ``[tool.opsctl]``) overrides them by name.
A project's ``templates/`` folder, Flask's own, is still read for an opsctl template it holds,
with a note that the place is deprecated.
"""

from __future__ import annotations

import datetime as _dt
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .application import FoundApp, Located, locate
from .catalogue import Catalogue, Script
from .config import (
    DEFAULT_ROOT,
    DEFAULT_TEMPLATES,
    Config,
    find_project_dir,
    has_opsctl_table,
    load_config,
)
from .errors import ConfigError, InvalidName, OpsctlError, TargetExists
from .gitops import Ignored, ignore
from .identity import DevelopersList, developers_list, not_listed
from .ledger.facts import local_files
from .naming import Naming, temporary_stem
from .similarity import similar

if TYPE_CHECKING:
    from .project import Project

TEMPLATE_KINDS = {"ts": "temporary", "recycle": "recycle"}
#: Where a project's templates were read before they moved under the root: a Flask project's
#: own ``templates/``, still read (with a note) for an opsctl template it holds.
OLD_TEMPLATES = "templates"
#: The line ``init`` asks for when it finds no app.
APP_LINE = 'app = "yourpackage:create_app"'


def builtin_templates() -> Path:
    """The folder of built-in templates: inside the wheel, or the source checkout's."""
    packaged = Path(__file__).parent / "_templates"
    if packaged.is_dir():
        return packaged
    return Path(__file__).parent.parent / "templates"


@dataclass(frozen=True)
class InitResult:
    project_dir: Path
    created: list[Path]
    #: Whether pyproject.toml was created (True), given a [tool.opsctl] table (False), or
    #: left alone (None).
    pyproject_created: bool | None
    #: The app written into the new table, and the file it was found in; None when none
    #: was written (FLASK_APP names it, nothing or several were found, or no table was made).
    app: FoundApp | None = None
    #: The app folder written into the new table (a monorepo's ``backend``), if any.
    app_folder: str | None = None
    #: What .gitignore was given to keep the run ledger out of git, if anything.
    ignored: Ignored | None = None
    #: Whether ``opsctl run`` has no app to look for (see :func:`finds_an_app`).
    no_app: bool = False


def init_project(project_dir: Path, root_name: str | None = None) -> InitResult:
    """Create ``recycle/``, ``unrecycle/``, a README in the root and a ``[tool.opsctl]`` table
    if there is none. Idempotent: existing files are left as they are.

    The root is ``root_name``, else the one ``[tool.opsctl]`` configures, else
    ``offline_script``; it must be a folder inside the project. Nothing is created before it
    is checked.
    """
    pyproject = project_dir / "pyproject.toml"
    has_table = has_opsctl_table(pyproject)
    configured = load_config(project_dir).root if has_table else None
    if root_name is not None:
        root = _checked_root(project_dir, root_name)
        if configured is not None and configured != root:
            raise ConfigError(f"{pyproject} already sets the root to {configured}; change root "
                              "in [tool.opsctl] instead of passing --root")
    else:
        root = configured or project_dir / DEFAULT_ROOT
    created: list[Path] = []
    for folder in (root, root / "recycle", root / "unrecycle"):
        if not folder.is_dir():
            folder.mkdir(parents=True)
            created.append(folder)
    for folder in (root / "recycle", root / "unrecycle"):
        # git keeps no empty folder; without these a fresh clone lacks the layout.
        keep = folder / ".gitkeep"
        if not any(folder.iterdir()):
            keep.touch()
    readme = root / "README.md"
    if not readme.exists():
        readme.write_text((builtin_templates() / "README.md.jinja").read_text(encoding="utf-8"),
                          encoding="utf-8")
        created.append(readme)
    pyproject_created: bool | None = None
    located = None
    if not has_table:
        text = pyproject.read_text(encoding="utf-8") if pyproject.is_file() else ""
        pyproject_created = not pyproject.is_file()
        table = "[tool.opsctl]\n"
        if root != project_dir / DEFAULT_ROOT:
            table += f'root = "{root.relative_to(project_dir).as_posix()}"\n'
        located = locate(project_dir)
        table += _app_lines(located)
        table += "# stale_days = 90\n"
        sep = "" if not text or text.endswith("\n\n") else ("\n" if text.endswith("\n") else "\n\n")
        with pyproject.open("a", encoding="utf-8") as fh:
            fh.write(sep + table)
    written = located is not None and len(located.apps) == 1 and not located.flask_app
    config = load_config(project_dir)
    ignored = ignore(project_dir, local_files(config),
                     comment="opsctl: the run ledger and its journal, local state")
    return InitResult(project_dir, created, pyproject_created,
                      app=located.apps[0] if written and located else None,
                      app_folder=located.folder if located else None, ignored=ignored,
                      no_app=_no_app(config, located))


def _app_lines(located: Located) -> str:
    """The table's app settings: the app folder when the app sits in one, and the app found
    there, unless its ``FLASK_APP`` already names it (which ``app`` would override) or
    several are candidates (each is offered, commented out)."""
    lines = f'app_folder = "{located.folder}"\n' if located.folder else ""
    where = f"{located.folder}/" if located.folder else ""
    if located.flask_app:
        return lines + (f'# app = "{located.flask_app}"   # FLASK_APP in {where}.flaskenv/.env '
                        "names it; this would override it\n")
    if len(located.apps) == 1:
        found = located.apps[0]
        return lines + f'app = "{found.import_path}"   # found in {where}{found.file}\n'
    if located.apps:
        return lines + "".join(f'# app = "{a.import_path}"   # found in {where}{a.file}\n'
                               for a in located.apps)
    return lines + f"# {APP_LINE}   # as flask --app takes it; FLASK_APP otherwise\n"


def app_found_note(result: InitResult) -> str:
    """What ``init`` says it wrote about the app: ``app flaskr:create_app (found in
    flaskr/__init__.py)``, with the app folder when there is one."""
    where = f"{result.app_folder}/" if result.app_folder else ""
    folder = f"app_folder {result.app_folder}" if result.app_folder else ""
    app = f"app {result.app.import_path} (found in {where}{result.app.file})" \
        if result.app else ""
    return "set " + ", ".join(filter(None, [folder, app])) + " in [tool.opsctl]"


def _no_app(config: Config, located: Located | None) -> bool:
    """Whether ``run`` has no app to load without ``--app``: none is named (``[tool.opsctl]
    app``, ``OPSCTL_APP``, ``FLASK_APP``) and none is found where ``init`` looks."""
    if config.app or os.environ.get("FLASK_APP"):
        return False
    located = located or locate(config.app_folder)
    return not located.apps and not located.flask_app


def _checked_root(project_dir: Path, name: str) -> Path:
    path = Path(name)
    if not name or path.is_absolute() or ".." in path.parts or path == Path("."):
        raise ConfigError(f"--root {name!r}: give a folder inside the project, such as "
                          "offline_script")
    return project_dir / path


def guess_init_dir(cwd: Path) -> Path:
    """Where ``init`` works: an existing project above, else the current folder."""
    found = find_project_dir(cwd)
    return Path(found) if found is not None else cwd


@dataclass(frozen=True)
class NewScript:
    """What ``new`` created: the script, and recycle scripts of a similar purpose."""

    script: Script
    similar: list[str]
    #: The template read from the deprecated ``templates/`` folder, if it was.
    old_template: Path | None = None


def new_script(project: Project, kind: str, name: str, *, message: str | None = None,
               variables: Mapping[str, str] | None = None) -> NewScript:
    """Create a script from the ``kind`` template (``ts`` or ``recycle``) and return it."""
    name = name.removesuffix(".py")
    developer = project.identity.name
    script = plan_new(kind, name, naming=project.naming, catalogue=project.catalogue,
                      developer=developer, developer_source=project.identity.source,
                      developers_list=developers_list(project.config))
    rel = script.path.relative_to(project.dir) if script.path.is_relative_to(project.dir) \
        else script.path
    values = {
        "name": name, "kind": kind, "developer": developer,
        "date": project.naming.today.isoformat(),
        "description": docstring_text(message or describe(name)),
        "key": script.key, "rel": rel.as_posix(),
        **(variables or {}),
    }
    content = render(kind, values, project_templates=template_folders(project.config))
    # Weighed before writing, and never the script itself: a catalogue read after the write
    # would list the new recycle script as similar to its own name.
    similar = [k for k in similar_recycle(name, project.catalogue) if k != script.key]
    create(script, content)
    return NewScript(script, similar, old_template(project.config, kind))


def template_folders(config: Config) -> list[Path]:
    """The project's template folders, first first: the configured one (``<root>/.templates``
    by default), then the deprecated ``templates/`` when it holds a template named as a
    built-in one."""
    folder = config.templates or config.root / DEFAULT_TEMPLATES
    old = config.project_dir / OLD_TEMPLATES
    if folder == config.root / DEFAULT_TEMPLATES and \
            any((old / t.name).is_file() for t in builtin_templates().glob("*.py.jinja")):
        return [folder, old]
    return [folder]


def old_template(config: Config, kind: str) -> Path | None:
    """The ``kind`` template read from the deprecated ``templates/`` folder, when that is the
    one :func:`render` uses."""
    folders, name = template_folders(config), f"{kind}.py.jinja"
    if len(folders) > 1 and not (folders[0] / name).is_file() and (folders[1] / name).is_file():
        return folders[1] / name
    return None


def plan_new(kind: str, name: str, *, naming: Naming, catalogue: Catalogue, developer: str,
             developer_source: str = "--developer", today: _dt.date | None = None,
             developers_list: DevelopersList | None = None) -> Script:
    """The script ``new`` would create; raises on an invalid name or an existing target."""
    script_kind = TEMPLATE_KINDS[kind]
    # The same evidence the lint weighs: a sibling named without a copy mark.
    siblings = catalogue.purposes((developer,) if script_kind == "temporary" else
                                  ("recycle", "unrecycle"))
    problem = naming.validate(script_kind, name,  # type: ignore[arg-type]
                              exists=siblings.__contains__)
    if problem is not None:
        hint = f" ({problem.fix})" if problem.fix else ""
        raise InvalidName(f"invalid name {name!r}: {problem.message}{hint}")
    if script_kind == "temporary":
        folder_problem = naming.check_developer_folder(developer)
        if folder_problem is not None and naming.developers is not None and \
                re.match(naming.developer_pattern, developer):
            listed = developers_list or DevelopersList(tuple(sorted(naming.developers)),
                                                       "[tool.opsctl] developers")
            raise InvalidName(not_listed(developer, developer_source, listed))
        if folder_problem is not None:
            hint = "give one that starts with a lowercase letter, such as your name in pinyin" \
                if developer_source == "--developer" else \
                "choose another with --developer NAME or OPSCTL_DEVELOPER"
            raise InvalidName(f"{folder_problem.message} (your developer name, from "
                              f"{developer_source}): {hint}")
        stem = temporary_stem(name, today or naming.today)
        script = Script(catalogue.root, developer, stem + ".py")
    else:
        script = Script(catalogue.root, "recycle", name + ".py")
        twin = Script(catalogue.root, "unrecycle", name + ".py")
        if os.path.lexists(twin.path):
            raise TargetExists(f"{twin.rel} already exists: a one-off script of that name is "
                               "kept as the record; choose another name")
    if os.path.lexists(script.path):
        raise TargetExists(f"{script.rel} already exists under {catalogue.root}; opsctl never "
                           "overwrites: choose another name or edit the existing script")
    return script


def docstring_text(text: str) -> str:
    """One line of text that is safe inside a triple-quoted docstring."""
    line = " ".join(text.split())
    line = line.replace("\\", "\\\\").replace('"""', '\\"\\"\\"')
    # A closing quote right before the docstring's own would end it early.
    return line[:-1] + '\\"' if line.endswith('"') else line


def similar_recycle(name: str, catalogue: Catalogue, exclude: str | None = None) -> list[str]:
    """Recycle scripts whose names suggest the same purpose as ``name``."""
    recycle = {s.stem: s.key for s in catalogue.scripts if s.kind == "recycle"}
    return [recycle[s] for s in similar(name, recycle, exclude=exclude)]


def render(kind: str, variables: Mapping[str, str], *,
           project_templates: Sequence[Path] | None = None) -> str:
    """Render the ``<kind>.py.jinja`` template, the project's own copy first."""
    import jinja2

    folders = [str(p) for p in (*(project_templates or ()), builtin_templates())
               if p.is_dir()]
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(folders),
                             keep_trailing_newline=True, undefined=jinja2.StrictUndefined,
                             autoescape=False)
    try:
        template = env.get_template(f"{kind}.py.jinja")
        return template.render(**variables)
    except jinja2.TemplateNotFound:
        raise OpsctlError(f"no template {kind}.py.jinja in {', '.join(folders)}") from None
    except jinja2.UndefinedError as exc:
        raise OpsctlError(f"template {kind}.py.jinja: {exc.message}; pass it with --var "
                          "KEY=VALUE") from None
    except jinja2.TemplateError as exc:
        raise OpsctlError(f"template {kind}.py.jinja is broken: {exc}") from None


def create(script: Script, content: str) -> None:
    """Write a new script, never over an existing file (even one created meanwhile)."""
    _write_new(script.path, content, script.rel)


def _write_new(path: Path, content: str, shown: str) -> None:
    """Write ``content`` to a new file at ``path`` (its folders made), never over a file, even
    one created meanwhile; ``shown`` names it in the error."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with path.open("x", encoding="utf-8") as fh:
            fh.write(content)
    except FileExistsError:
        raise TargetExists(f"{shown} already exists; opsctl never overwrites") from None


#: Where a project keeps its tests, in the order looked for; a stub goes in the first found.
TEST_FOLDERS = ("tests", "test")


@dataclass(frozen=True)
class StubPlan:
    """Where ``new recycle --test`` writes the test, and whether its folder is new."""

    path: Path
    folder_created: bool


def plan_test_stub(project_dir: Path, name: str) -> StubPlan:
    """``tests/test_<name>.py`` (or in ``test/``, when that is the project's folder; ``tests/``
    when there is neither); raises :class:`TargetExists` when the file is there."""
    name = name.removesuffix(".py")
    found = [project_dir / f for f in TEST_FOLDERS if (project_dir / f).is_dir()]
    folder = found[0] if found else project_dir / TEST_FOLDERS[0]
    path = folder / f"test_{name}.py"
    if os.path.lexists(path):
        raise TargetExists(f"{path.relative_to(project_dir).as_posix()} already exists; opsctl "
                           "never overwrites, so nothing was written: leave out --test, or "
                           "move that file")
    return StubPlan(path, not found)


def write_test_stub(project: Project, plan: StubPlan, script: Script) -> Path | None:
    """Write the test of a new recycle script from the ``test`` template (never over a file);
    the template of the deprecated ``templates/`` folder, if that was the one used."""
    values = {"name": script.stem, "key": script.key,
              "rel": script.path.relative_to(project.dir).as_posix()
              if script.path.is_relative_to(project.dir) else script.path.as_posix()}
    content = render("test", values, project_templates=template_folders(project.config))
    _write_new(plan.path, content, str(plan.path))
    return old_template(project.config, "test")


def describe(name: str) -> str:
    """A default first docstring line from the name: ``export_order_data`` → ``Export order
    data.``"""
    return name.replace("_", " ").strip().capitalize() + "."
