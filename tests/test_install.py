"""A real, non-editable install into a fresh virtual environment, used from an empty folder.

This is what a new user does; it proves the templates ship inside the wheel and nothing
depends on the source checkout.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import venv
from pathlib import Path

import pytest

# Slow: a wheel built and installed into a fresh virtual environment.
pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with ``pip install <repo>`` (not editable); returns its bin folder."""
    env_dir = tmp_path_factory.mktemp("venv")
    venv.create(env_dir)  # without pip: this pip installs into it (--python), skipping ensurepip
    bin_dir = env_dir / "bin"
    build = tmp_path_factory.mktemp("src")
    # Copy the tracked sources so a build never writes into the checkout.
    files = subprocess.run(["git", "-C", str(REPO), "ls-files", "-co", "--exclude-standard"],
                           capture_output=True, text=True, check=True).stdout.split()
    for rel in files:
        src = REPO / rel
        if src.is_file():
            dst = build / rel
            dst.parent.mkdir(parents=True, exist_ok=True)
            dst.write_bytes(src.read_bytes())
    out = subprocess.run([sys.executable, "-m", "pip", "--python", str(bin_dir / "python"),
                          "install", "-q", str(build)], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
    return bin_dir


def _run(bin_dir: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPSCTL_", "PYTHON"))}
    env["OPSCTL_DEVELOPER"] = "ann"
    return subprocess.run([str(bin_dir / "opsctl"), *args], cwd=cwd, env=env,
                          capture_output=True, text=True)


def test_fresh_install_scaffolds_and_lists(installed: Path, tmp_path: Path) -> None:
    where = subprocess.run([str(installed / "python"), "-c",
                            "import opsctl, pathlib; print(pathlib.Path(opsctl.__file__).parent)"],
                           cwd=tmp_path, capture_output=True, text=True, check=True).stdout.strip()
    assert "site-packages" in where  # the wheel's copy, not the checkout
    assert (Path(where) / "_templates" / "ts.py.jinja").is_file()

    proj = tmp_path / "svc"
    proj.mkdir()
    assert _run(installed, proj, "init").returncode == 0
    assert (proj / "offline_script" / "recycle").is_dir()
    assert "[tool.opsctl]" in (proj / "pyproject.toml").read_text()

    ts = _run(installed, proj, "new", "ts", "export_order_data", "-m", "Export orders.")
    assert ts.returncode == 0, ts.stderr
    ts_path = proj / ts.stdout.strip()
    assert ts_path.parent == proj / "offline_script" / "ann"
    assert ts_path.name.startswith("ts_") and ts_path.name.endswith("_export_order_data.py")
    assert ts_path.read_text().startswith('"""Export orders.')

    rc = _run(installed, proj, "new", "recycle", "clear_cache")
    assert rc.returncode == 0, rc.stderr
    assert (proj / "offline_script" / "recycle" / "clear_cache.py").is_file()

    listed = _run(installed, proj / "offline_script" / "ann", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    data = json.loads(listed.stdout)
    assert {d["key"] for d in data} == {"recycle/clear_cache", f"ann/{ts_path.stem}"}
    assert {d["kind"] for d in data} == {"recycle", "temporary"}
    assert next(d for d in data if d["kind"] == "temporary")["description"] == "Export orders."

    compiled = subprocess.run([str(installed / "python"), "-m", "py_compile", str(ts_path)],
                              capture_output=True, text=True)
    assert compiled.returncode == 0, compiled.stderr
    # The scaffolded scripts must also be valid on the oldest Python the package claims, and
    # the wheel must carry that claim.
    import ast
    import tomllib

    requires = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["requires-python"]
    assert re.fullmatch(r">=3\.\d+", requires), requires
    oldest = (3, int(requires.split(".")[1]))
    for script in (ts_path, proj / "offline_script" / "recycle" / "clear_cache.py"):
        ast.parse(script.read_text(encoding="utf-8"), filename=str(script), feature_version=oldest)
    claimed = subprocess.run([str(installed / "python"), "-c", "from importlib.metadata import "
                              "metadata; print(metadata('opsctl')['Requires-Python'])"],
                             cwd=tmp_path, capture_output=True, text=True, check=True)
    assert claimed.stdout.strip() == requires
