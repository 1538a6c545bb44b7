"""The lowest supported versions are written once in spirit, three times in fact: the README's
Requirements table, ``pyproject.toml``'s dependency floors, and the pins of ``.ci/run``'s floors
step, which tests them. They must agree."""

from __future__ import annotations

import re
import tomllib

from conftest import REPO


def readme_floors() -> dict[str, str]:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    start = text.index("## Requirements\n")
    section = text[start:text.index("\n## ", start + 1)]
    rows = re.findall(r"^\| ([\w.-]+) \| (\d[\w.]*) \|$", section, re.MULTILINE)
    return {name.lower(): version for name, version in rows}


def pyproject() -> dict[str, object]:
    return tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))


def pyproject_floors() -> dict[str, str]:
    floors = {}
    for requirement in pyproject()["project"]["dependencies"]:  # type: ignore[index]
        match = re.fullmatch(r"([\w.-]+)>=([\w.]+)", requirement)
        assert match, f"{requirement!r}: a dependency is given as name>=floor"
        floors[match[1].lower()] = match[2]
    return floors


def ci_floors() -> tuple[str, dict[str, str]]:
    """The Python the floors step makes its environment with, and the versions it pins."""
    text = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    step = text[text.index("== the lowest supported versions"):]
    step = step[:step.index("\necho ")]
    python = re.search(r"python(3\.\d+) -m venv", step)
    assert python, "the floors step names the Python it uses"
    pins = dict(re.findall(r'"([\w.-]+)==([\w.]+)"', step))
    assert 'pytest -m "not slow"' in step
    return python[1], {name.lower(): version for name, version in pins.items()}


def test_the_readme_lists_every_floor_the_ci_step_installs() -> None:
    python, pins = ci_floors()
    assert readme_floors() == {"python": python, **pins}


def test_every_dependency_s_floor_is_in_the_readme_and_tested() -> None:
    readme = readme_floors()
    _, pins = ci_floors()
    for name, floor in pyproject_floors().items():
        assert readme.get(name) == floor, name
        assert pins.get(name) == floor, name


def test_the_python_floor_is_the_package_s() -> None:
    requires = pyproject()["project"]["requires-python"]  # type: ignore[index]
    assert requires == f">={readme_floors()['python']}"
