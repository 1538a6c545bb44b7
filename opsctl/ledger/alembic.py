"""What a project's Alembic migrations use to leave the run ledger's tables alone, when the
ledger lives in the app's own database.

Alembic's autogenerate (``flask db migrate``) compares the database with the app's models,
and a table it finds that no model declares is one to drop: ``opsctl_runs`` and the others
would go at the next ``flask db upgrade``, with every run, lock and run-once guard. In the
project's ``migrations/env.py``::

    from opsctl.ledger.alembic import exclude_ledger
    ...
    context.configure(connection=connection, target_metadata=get_metadata(),
                      **exclude_ledger(conf_args))

:func:`exclude_ledger` gives ``include_name`` (the ledger's tables are never even reflected)
and ``include_object`` (nor compared), each wrapping the project's own filter when it has one.
:func:`include_name` and :func:`include_object` are the bare filters, for ``env.py`` files
that prefer to name them.

The table names are the schema's own (:mod:`.schema`); it is imported on the first call, when
Alembic has SQLAlchemy loaded anyway, so importing this module costs nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import cache
from typing import Any

#: The two Alembic hooks this module fills: ``include_name(name, type_, parent_names)`` and
#: ``include_object(object, name, type_, reflected, compare_to)``.
HOOKS = ("include_name", "include_object")


@cache
def ledger_tables() -> frozenset[str]:
    """The names of the ledger's tables, as the schema defines them."""
    from .latest import NAME
    from .schema import METADATA

    return frozenset([*METADATA.tables, NAME])


def include_name(name: str | None, type_: str, parent_names: Mapping[str, Any]) -> bool:
    """Alembic's ``include_name``: False for a ledger table and anything inside one."""
    table = name if type_ == "table" else parent_names.get("table_name")
    return table not in ledger_tables()


def include_object(obj: Any, name: str | None, type_: str, reflected: bool,
                   compare_to: Any) -> bool:
    """Alembic's ``include_object``: False for a ledger table and anything inside one."""
    table = name if type_ == "table" else getattr(getattr(obj, "table", None), "name", None)
    return table not in ledger_tables()


def exclude_ledger(configure_args: Mapping[str, Any] | None = None, /,
                   **more: Any) -> dict[str, Any]:
    """``context.configure`` keywords that leave the ledger alone: ``configure_args`` and
    ``more`` with ``include_name`` and ``include_object`` set to the ledger's filters, each
    calling the one already there (if any) for every other name."""
    args = {**(configure_args or {}), **more}
    for hook, own in (("include_name", include_name), ("include_object", include_object)):
        args[hook] = _both(own, args.get(hook))
    return args


def _both(own: Callable[..., bool], theirs: Callable[..., bool] | None) -> Callable[..., bool]:
    if theirs is None or theirs is own:
        return own
    if getattr(theirs, "leaves_ledger_alone", False) is True:
        return theirs  # opsctl's filter and the project's together already

    def either(*args: Any) -> bool:
        return own(*args) and bool(theirs(*args))

    either.leaves_ledger_alone = True  # type: ignore[attr-defined]
    return either


def excludes_ledger(hook: object) -> bool:
    """Whether an ``include_name`` or ``include_object`` is (or wraps) this module's."""
    return hook in (include_name, include_object) or \
        getattr(hook, "leaves_ledger_alone", False) is True
