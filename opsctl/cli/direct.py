"""Running a script with ``python path/to/script.py``: :func:`run_directly`, exported as
``opsctl.run_directly``, hands the file and its arguments to ``opsctl run``.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import NoReturn

from ..run.api import in_run


def run_directly(file: str) -> NoReturn:
    """Run this script exactly as ``opsctl run <script> ARGS`` would; for ``__main__`` blocks.

    The project is found from the file's location; the arguments are ``sys.argv[1:]``.
    """
    if in_run():
        raise RuntimeError(
            "opsctl.run_directly() was called inside a run; keep it under "
            "'if __name__ == \"__main__\":' and give the script a main() entry point")
    from ..config import require_project_dir
    from .group import cli

    path = Path(file).resolve()
    project_dir = require_project_dir(path.parent)
    cli.main(args=["--project", str(project_dir), "run", str(path), *sys.argv[1:]],
             prog_name="opsctl")
    raise SystemExit(0)  # cli.main exits itself; this keeps the NoReturn promise honest
