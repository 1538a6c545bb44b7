"""Where a project's Flask app lives (:mod:`opsctl.application`), read and never imported, and
what ``init`` writes from it: layouts as Flask projects have them (flaskr, src/, a monorepo's
backend/), each import path then loaded by Flask itself in a real process."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from runkit import env

from opsctl.application import FoundApp, app_attribute, find_apps, locate

FACTORY = "from flask import Flask\n\n\ndef create_app(test_config=None):\n" \
          "    return Flask(__name__)\n"
APP = "from flask import Flask\n\napp = Flask(__name__)\n"

LAYOUTS = {
    # Flask's tutorial: a package with create_app, no wsgi.py / app.py.
    "flaskr": ({"flaskr/__init__.py": FACTORY, "flaskr/db.py": "import sqlite3\n",
                "tests/__init__.py": FACTORY, "tests/conftest.py": "import pytest\n"},
               [FoundApp("flaskr:create_app", "flaskr/__init__.py")]),
    "app-py": ({"app.py": APP}, [FoundApp("app:app", "app.py")]),
    "wsgi-over-package": (
        {"wsgi.py": "from shop import create_app\n\napp = create_app()\n",
         "shop/__init__.py": FACTORY},
        [FoundApp("wsgi:app", "wsgi.py"), FoundApp("shop:create_app", "shop/__init__.py")]),
    "package-app-py": ({"shop/__init__.py": "", "shop/app.py": FACTORY},
                       [FoundApp("shop.app:create_app", "shop/app.py")]),
    "package-wsgi-py": ({"shop/__init__.py": "", "shop/wsgi.py": APP},
                        [FoundApp("shop.wsgi:app", "shop/wsgi.py")]),
    "init-with-app": ({"shop/__init__.py": APP, "shop/app.py": FACTORY},
                      [FoundApp("shop:app", "shop/__init__.py")]),
    "another-name": ({"shop/__init__.py": "import flask\n\nserver = flask.Flask(__name__)\n"},
                     [FoundApp("shop:server", "shop/__init__.py")]),
    "src-layout": ({"src/shop/__init__.py": FACTORY},
                   [FoundApp("src/shop:create_app", "src/shop/__init__.py")]),
    "src-app-py": ({"src/shop/__init__.py": "", "src/shop/app.py": APP},
                   [FoundApp("src/shop/app.py:app", "src/shop/app.py")]),
    "nothing": ({"shop/__init__.py": "def helper():\n    pass\n", "setup.py": "x = 1\n",
                 "broken/__init__.py": "def create_app(:\n"}, []),
}


def tree(base: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (base / name).parent.mkdir(parents=True, exist_ok=True)
        (base / name).write_text(text, encoding="utf-8")
    return base


@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_find_apps_in_the_usual_places(tmp_path: Path, layout: str) -> None:
    files, expected = LAYOUTS[layout]
    folder = tree(tmp_path / "proj", files)
    found = find_apps(folder)
    assert found == expected
    for app in found:  # the import path is one Flask loads, from the folder
        loaded = subprocess.run(
            [sys.executable, "-c", "import sys\nfrom flask.cli import ScriptInfo\n"
             "print(ScriptInfo(app_import_path=sys.argv[1]).load_app().name)",
             app.import_path], cwd=folder, env=env(), capture_output=True, text=True,
            timeout=60)
        assert loaded.returncode == 0, loaded.stderr


@pytest.mark.parametrize(("source", "name"), [
    ("from flask import Flask\napplication = Flask(__name__)\n", "application"),
    ("from .factory import create_app\n", "create_app"),
    ("def make_app():\n    pass\n", "make_app"),
    ("from flask import Flask\nweb: Flask = Flask(__name__)\ndef create_app():\n    pass\n",
     "web"),
    ("import flask\n", None),
])
def test_app_attribute_takes_what_flask_would(tmp_path: Path, source: str,
                                              name: str | None) -> None:
    (tmp_path / "m.py").write_text(source, encoding="utf-8")
    assert app_attribute(tmp_path / "m.py") == name


def test_locate_finds_a_monorepo_backend(tmp_path: Path) -> None:
    root = tree(tmp_path / "repo", {"backend/app.py": FACTORY,
                                    "backend/.flaskenv": "FLASK_APP=app:create_app\n",
                                    "frontend/index.js": ""})
    located = locate(root)
    assert located.folder == "backend" and located.flask_app == "app:create_app"
    (root / "backend" / ".flaskenv").unlink()
    assert locate(root).folder == "backend" and locate(root).flask_app is None
    tree(root, {"admin/wsgi.py": APP})  # two candidates: none is chosen
    assert locate(root).folder is None


def opsctl_init(project: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "opsctl", "--project", str(project), "init"],
                          cwd=project, env=env(), capture_output=True, text=True, timeout=60)


def test_init_writes_the_flaskr_factory_it_finds(tmp_path: Path) -> None:
    project = tree(tmp_path / "flask-tutorial", {
        **LAYOUTS["flaskr"][0], "pyproject.toml": '[project]\nname = "flaskr"\n'})
    result = opsctl_init(project)
    assert result.returncode == 0, result.stderr
    assert "set app flaskr:create_app (found in flaskr/__init__.py) in [tool.opsctl]" \
        in result.stdout
    text = (project / "pyproject.toml").read_text(encoding="utf-8")
    assert 'app = "flaskr:create_app"   # found in flaskr/__init__.py\n' in text
    write = textwrap.dedent('''\
        """Say which app."""
        from flask import current_app


        def main():
            print("app", current_app.name)
        ''')
    (project / "offline_script" / "recycle" / "which.py").write_text(write, encoding="utf-8")
    ran = subprocess.run([sys.executable, "-m", "opsctl", "run", "--no-ledger",
                          "recycle/which"], cwd=project, env=env(), capture_output=True,
                         text=True, timeout=60)
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout == "app flaskr\n"


def test_init_leaves_the_app_to_flask_app_and_sets_a_monorepo_s_app_folder(
        tmp_path: Path) -> None:
    root = tree(tmp_path / "repo", {"backend/app.py": FACTORY,
                                    "backend/.flaskenv": "FLASK_APP=app:create_app\n"})
    result = opsctl_init(root)
    assert result.returncode == 0, result.stderr
    assert "set app_folder backend in [tool.opsctl]" in result.stdout
    text = (root / "pyproject.toml").read_text(encoding="utf-8")
    assert 'app_folder = "backend"\n' in text
    assert '\n# app = "app:create_app"   # FLASK_APP in backend/.flaskenv/.env names it' in text


def test_init_offers_several_candidates_and_chooses_none(tmp_path: Path) -> None:
    project = tree(tmp_path / "proj", {"shop/__init__.py": FACTORY,
                                       "admin/__init__.py": FACTORY})
    result = opsctl_init(project)
    assert result.returncode == 0, result.stderr
    assert "set app" not in result.stdout
    text = (project / "pyproject.toml").read_text(encoding="utf-8")
    assert '# app = "admin:create_app"   # found in admin/__init__.py\n' in text
    assert '# app = "shop:create_app"   # found in shop/__init__.py\n' in text
    assert "\napp =" not in text
