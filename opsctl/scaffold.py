"""Scaffolding: ``opsctl init`` (the layout) and ``opsctl new`` (a script from a template).

Templates are Jinja files named ``<kind>.py.jinja``. The built-in ones ship in the wheel as
``opsctl/_templates`` (they come from the repository's ``templates/``); a project's templates
folder overrides them by name.
"""

from __future__ import annotations

import datetime as _dt
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from .catalogue import Catalogue, Script
from .config import Config, find_project_dir
from .errors import InvalidName, OpsctlError, TargetExists
from .naming import Naming, similar, temporary_stem

TEMPLATE_KINDS = {"ts": "temporary", "recycle": "recycle"}


def builtin_templates() -> Path:
    """The folder of built-in templates: inside the wheel, or the source checkout's."""
    packaged = Path(__file__).parent / "_templates"
    if packaged.is_dir():
        return packaged
    return Path(__file__).parent.parent / "templates"


@dataclass(frozen=True)
class InitResult:
    created: list[Path]
    project_dir: Path


def init_project(project_dir: Path, root_name: str = "offline_script") -> InitResult:
    """Create ``recycle/``, ``unrecycle/``, a README in the root and a ``[tool.opsctl]`` table
    if there is none. Idempotent: existing files are left as they are."""
    created: list[Path] = []
    root = project_dir / root_name
    for folder in (root, root / "recycle", root / "unrecycle"):
        if not folder.is_dir():
            folder.mkdir(parents=True)
            created.append(folder)
    readme = root / "README.md"
    if not readme.exists():
        readme.write_text((builtin_templates() / "README.md.jinja").read_text(encoding="utf-8"),
                          encoding="utf-8")
        created.append(readme)
    pyproject = project_dir / "pyproject.toml"
    text = pyproject.read_text(encoding="utf-8") if pyproject.is_file() else ""
    if not re.search(r"^\s*\[tool\.opsctl[\].]", text, re.MULTILINE):
        table = '[tool.opsctl]\n'
        if root_name != "offline_script":
            table += f'root = "{root_name}"\n'
        table += ('# app = "yourapp:create_app"   # as flask --app takes it; FLASK_APP otherwise\n'
                  "# stale_days = 90\n")
        sep = "" if not text or text.endswith("\n\n") else ("\n" if text.endswith("\n") else "\n\n")
        with pyproject.open("a", encoding="utf-8") as fh:
            fh.write(sep + table)
        created.append(pyproject)
    return InitResult(created, project_dir)


def guess_init_dir(cwd: Path) -> Path:
    """Where ``init`` works: an existing project above, else the current folder."""
    return find_project_dir(cwd) or cwd


@dataclass(frozen=True)
class NewScript:
    script: Script
    similar: list[str]


def plan_new(kind: str, name: str, *, config: Config, naming: Naming, catalogue: Catalogue,
             developer: str, today: _dt.date | None = None) -> Script:
    """The script ``new`` would create; raises on an invalid name or an existing target."""
    script_kind = TEMPLATE_KINDS[kind]
    problem = naming.validate(script_kind, name)  # type: ignore[arg-type]
    if problem is not None:
        hint = f" ({problem.fix})" if problem.fix else ""
        raise InvalidName(f"invalid name {name!r}: {problem.message}{hint}")
    if script_kind == "temporary":
        folder_problem = naming.check_developer_folder(developer)
        if folder_problem is not None:
            raise InvalidName(f"{folder_problem.message}; pass --developer NAME or set "
                              "OPSCTL_DEVELOPER")
        stem = temporary_stem(name, today or naming.today)
        script = Script(catalogue.root, developer, stem + ".py")
    else:
        script = Script(catalogue.root, "recycle", name + ".py")
    if os.path.lexists(script.path):
        raise TargetExists(f"{script.rel} already exists under {catalogue.root}; opsctl never "
                           "overwrites: choose another name or edit the existing script")
    return script


def similar_recycle(name: str, catalogue: Catalogue, exclude: str | None = None) -> list[str]:
    """Recycle scripts whose names suggest the same purpose as ``name``."""
    recycle = {s.stem: s.key for s in catalogue.scripts if s.kind == "recycle"}
    return [recycle[s] for s in similar(name, recycle, exclude=exclude)]


def render(kind: str, variables: Mapping[str, str], *, project_templates: Path | None) -> str:
    """Render the ``<kind>.py.jinja`` template, the project's own copy first."""
    import jinja2

    folders = [str(p) for p in (project_templates, builtin_templates()) if p and p.is_dir()]
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
    script.path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with script.path.open("x", encoding="utf-8") as fh:
            fh.write(content)
    except FileExistsError:
        raise TargetExists(f"{script.rel} already exists; opsctl never overwrites") from None


def describe(name: str) -> str:
    """A default first docstring line from the name: ``export_order_data`` → ``Export order
    data.``"""
    return name.replace("_", " ").strip().capitalize() + "."
