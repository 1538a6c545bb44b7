"""The project a command works on: its folder, configuration, catalogue and naming rules.

One :class:`Project` lives in ``ctx.obj`` for a whole invocation; each part is computed on
first use, so ``opsctl --help`` reads nothing and ``opsctl lint`` never opens the ledger.
"""

from __future__ import annotations

import os
from functools import cached_property

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy reads it the same)

if TYPE_CHECKING:
    from pathlib import Path
    from typing import Any

    # Imported where used: ``opsctl --help`` builds a Project and must not pay for them.
    from .catalogue import Catalogue
    from .config import Config
    from .identity import Identity
    from .naming import Naming


class Project:
    """Lazily loaded state shared by every command of one invocation."""

    def __init__(self, project_dir: str | os.PathLike[str] | None = None, *, debug: bool = False,
                 overrides: dict[str, Any] | None = None) -> None:
        #: The folder given with --project / OPSCTL_PROJECT, if any.
        self.given_dir = project_dir
        self.debug = debug
        self.overrides: dict[str, Any] = dict(overrides or {})
        self.developer_option: str | None = None

    @cached_property
    def dir_path(self) -> str:
        """The project folder (the one holding ``pyproject.toml`` / ``offline_script/``),
        absolute."""
        from .config import check_project_dir, require_project_dir

        if self.given_dir is not None:
            return check_project_dir(self.given_dir)
        return require_project_dir()

    @property
    def dir(self) -> Path:
        """:attr:`dir_path` as a Path."""
        from pathlib import Path

        return Path(self.dir_path)

    @cached_property
    def config(self) -> Config:
        from .config import load_config

        return load_config(self.dir_path, overrides=self.overrides)

    @property
    def root(self) -> Path:
        """The offline-script root."""
        return self.config.root

    @property
    def root_path(self) -> str:
        """The offline-script root as a string: what the lint takes, without pathlib."""
        return self.config.root_path

    @cached_property
    def catalogue(self) -> Catalogue:
        from .catalogue import Catalogue

        return Catalogue(self.root)

    @cached_property
    def naming(self) -> Naming:
        from .naming import Naming, configured_status_suffixes

        # The status-suffix deny-list is part of [tool.opsctl.lint] and read the same way
        # there: `new` and `promote` accept exactly the names `lint` passes.
        suffixes = configured_status_suffixes(self.config.lint, self.config.source)
        return Naming(developer_pattern=self.config.developer_pattern,
                      developers=self.config.developers, status_suffixes=suffixes)

    @cached_property
    def identity(self) -> Identity:
        from .identity import find_identity

        return find_identity(self.developer_option, cwd=self.dir)
