"""``opsctl list`` without Click, for its everyday shapes.

Click's import alone costs more than listing a few thousand scripts, so the ``opsctl``
program (:mod:`opsctl.cli.main`) hands ``opsctl list`` straight to :func:`run_fast` when its
arguments are of the everyday shapes: ``--kind``, ``--owner``, ``--stale``, ``--no-runs``,
``--json``, and the group's ``--project`` and ``--debug``. Everything else is the Click
command's (:mod:`opsctl.cli.list`): ``--help``, an unknown, repeated or empty option, a
``--kind`` Click would refuse, a project that is not one, shell completion. Both roads end in
:func:`opsctl.listing.show.execute`; tests run both on the same arguments and compare every byte
of output and the exit status, and check that every option read here is declared alike on
the Click side. Nothing here imports Click.
"""

from __future__ import annotations

import os

from ..errors import OpsctlError, unexpected
from ..light import read_options as _read_options
from ..light import readable_or_absent as _readable_or_absent

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy reads it the same)

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from ..listing.show import ListOptions

#: The options read here (``{option: field}``): the group's, then the list's.
GROUP_VALUED = {"--project": "project_dir"}
GROUP_FLAGS = {"--debug": "debug"}
LIST_VALUED = {"--kind": "kind", "--owner": "owner"}
LIST_FLAGS = {"--stale": "stale", "--no-runs": "no_runs", "--json": "as_json"}
#: What ``--kind`` takes (:data:`opsctl.cli.list.KINDS`; a test holds them equal).
KINDS = ("recycle", "unrecycle", "temporary", "ts")


def parse_fast(argv: Sequence[str], environ: Mapping[str, str],
               ) -> tuple[ListOptions, str | None, bool] | None:
    """``opsctl ARGV`` as ``(options, project folder or None, debug)`` when it is a list the
    fast path can run; None when only Click may read it (see the module)."""
    if environ.get("_OPSCTL_COMPLETE"):
        return None
    group: dict[str, object] = {}
    i = _read_options(argv, 0, GROUP_VALUED, GROUP_FLAGS, group, None)
    if i is None or i == len(argv) or argv[i] != "list":
        return None
    values: dict[str, object] = {}
    extra: list[str] = []
    if _read_options(argv, i + 1, LIST_VALUED, LIST_FLAGS, values, extra) is None or extra:
        return None  # Click says what is wrong (list takes no arguments)
    if values.get("kind", "ts") not in KINDS:
        return None
    # Click takes OPSCTL_PROJECT when --project is not given, and an empty one as unset.
    given = group.get("project_dir")
    project = given if isinstance(given, str) else environ.get("OPSCTL_PROJECT") or None
    if project is not None:
        from ..config import is_project_dir

        if not (os.path.isdir(project) and _readable_or_absent(project) and
                is_project_dir(project)):
            return None  # Click and the project's checks say what is wrong with it
    from ..listing.show import ListOptions

    return ListOptions(**values), project, bool(group.get("debug"))  # type: ignore[arg-type]


def run_fast(argv: Sequence[str]) -> int | None:
    """The whole of ``opsctl ARGV`` without Click, as its exit status, when it is a list of
    the everyday shapes; None when the arguments are Click's to read (:func:`parse_fast`)."""
    fast = parse_fast(argv, os.environ)
    if fast is None:
        return None
    options, project_dir, debug = fast
    from ..listing.show import execute
    from ..project import Project

    try:
        return execute(Project(project_dir, debug=debug), options)
    except OpsctlError as exc:
        exc.show()
        return exc.exit_code
    except BrokenPipeError:
        raise  # the reader went away: opsctl.cli.main ends quietly
    except Exception as exc:
        if debug or os.environ.get("OPSCTL_DEBUG"):
            raise
        error = unexpected(exc)
        error.show()
        return error.exit_code
