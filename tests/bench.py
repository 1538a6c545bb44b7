"""Benchmark opsctl against the baselines of SPEC §8, whole processes, in one run.

Run it from the repository root with the interpreter opsctl is installed in::

    python -m tests.bench                    # full: trees of 1,000 / 10,000 / 100,000 scripts
    python -m tests.bench --quick            # 1,000-script tree, fewer runs; never fails on noise
    python -m tests.bench --json bench.json  # also write the results as JSON
    python -m tests.bench --batch-rows 200000  # batches() loops on fewer rows (default 1M)

Each measurement times whole processes: one warm-up of each side, then the measured command
and its baseline alternately (A B A B ...), so drift in the machine hits both alike. It
reports min / median / max of each side, the median of the pairwise ratios A/B, and the peak
resident memory of each side (``os.wait4``'s per-child ``rusage``, the same figure
``getrusage(RUSAGE_CHILDREN)`` and ``/usr/bin/time -v`` report). opsctl runs as its console
script (the ``opsctl`` executable beside ``sys.executable``), the way users call it; the
baselines run with the same interpreter. The ``batches()`` loops of issue 16
(tests/bench_batches.py) are the exception: two scripts under ``opsctl run`` time their own
loops, since their processes start alike.

A command that does not exist yet in this version is reported as "not available" instead of
failing the benchmark. The full mode exits 1 when a §8 target is not met; ``--quick`` only
reports, since a few runs on a small tree are too noisy to judge.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Self

PYTHON = sys.executable
BIN = Path(sys.executable).parent  # not resolved: a venv's python is a symlink out of it
OPSCTL = str(BIN / "opsctl")
FLASK = str(BIN / "flask")
PG_SERVER = os.environ.get("OPSCTL_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432")
MARIADB_SERVER = os.environ.get("OPSCTL_BENCH_MARIADB", "mysql+pymysql://root@127.0.0.1:3306")

#: The bare Python floor of §8: the interpreter starting, an ``os.scandir`` walk of the tree,
#: one compiled regex matched against each file name. It prints the paths whose names do not
#: match, as a linter would (as bytes: a tree may hold undecodable names); the argument is the
#: offline-script root.
FLOOR_CODE = r"""
import os, re, sys
NAME = re.compile(r"^(?:ts_\d{4}_\d{2}_\d{2}_)?[a-z][a-z0-9]*(?:_[a-z0-9]+)*\.py$")
def walk(path, out):
    with os.scandir(path) as entries:
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                walk(entry.path, out)
            elif NAME.match(entry.name) is None:
                out.append(entry.path)
bad = []
walk(sys.argv[1], bad)
sys.stdout.buffer.write(b"".join(os.fsencode(p) + b"\n" for p in bad))
"""

#: The content floor: the name floor, then every recycle/ and unrecycle/ script read and parsed
#: with ``ast`` in one process: the least any rule on a script's content does without a cache.
CONTENT_FLOOR_CODE = FLOOR_CODE + r"""
import ast
for folder in ("recycle", "unrecycle"):
    with os.scandir(os.path.join(sys.argv[1], folder)) as entries:
        for entry in entries:
            if entry.name.endswith(".py") and entry.is_file():
                with open(entry.path, "rb") as fh:
                    data = fh.read()
                try:
                    ast.parse(data)
                except (SyntaxError, ValueError):
                    pass
"""

#: ls-lint checking the names the floor checks: a .py file named as the floor's regex says
#: (ls-lint adds the anchors), any other file refused, folders in snake_case (opsctl checks
#: developer folders too).
LSLINT_CONFIG = """\
ls:
  offline_script:
    .dir: regex:[a-z][a-z0-9]*(_[a-z0-9]+)*
    .py: regex:(ts_[0-9]{4}_[0-9]{2}_[0-9]{2}_)?[a-z][a-z0-9]*(_[a-z0-9]+)*
    .*: regex:^$
ignore:
  - .opsctl_cache
"""
#: Where the benchmark looks for ls-lint when OPSCTL_BENCH_LSLINT does not say: the folder
#: of ``cd /tmp/lslint && npm install @ls-lint/ls-lint``, then the PATH.
LSLINT_FOLDER = Path(tempfile.gettempdir()) / "lslint"

HELP_BASELINE = "import click, rich"


# -- generating trees ------------------------------------------------------------------------

def _batches_bench() -> Any:
    """tests/bench_batches.py: the batches() loops and the checkpoint (issue 16)."""
    try:
        from tests import bench_batches
    except ImportError:  # imported by pytest, where tests/ itself is on sys.path
        import bench_batches  # type: ignore[no-redef]
    return bench_batches


def _tree_generator() -> tuple[Callable[..., Any], Callable[[Any], set[str]], dict[str, Any]]:
    """``generate_tree``, ``reported`` (what a default lint reports) and the ``LEGACY``
    shape of tests/treegen.py."""
    try:
        from tests.treegen import LEGACY, generate_tree, reported
    except ImportError:  # imported by pytest, where tests/ itself is on sys.path
        from treegen import LEGACY, generate_tree, reported  # type: ignore[no-redef]
    return generate_tree, reported, LEGACY


@dataclass
class Tree:
    """A generated project: ``dir`` holds ``pyproject.toml`` and the offline-script ``root``."""

    n: int
    dir: Path
    root: Path
    bad: set[str]
    seconds: float
    files: int = 0
    #: What a default lint reports: the bad paths, stale scripts summarised at the oldest.
    reported: set[str] = field(default_factory=set)
    #: "easy" (a young tree, few shared scripts) or "legacy" (tests/treegen.py LEGACY).
    shape: str = "easy"

    @property
    def cache(self) -> Path:
        """The content cache opsctl keeps beside the project."""
        return self.dir / ".opsctl_cache"

    def drop_cache(self) -> None:
        shutil.rmtree(self.cache, ignore_errors=True)

    def pick_files(self) -> list[str]:
        """Two scripts as pre-commit passes them: paths relative to the project folder, one
        well named temporary script and one badly named one."""
        bad = sorted(self.bad)
        good = None
        for folder in sorted(os.listdir(self.root)):
            if folder in ("recycle", "unrecycle") or folder in self.bad or \
                    not (self.root / folder).is_dir():
                continue
            for name in sorted(os.listdir(self.root / folder)):
                if f"{folder}/{name}" not in self.bad and name.endswith(".py"):
                    good = f"{folder}/{name}"
                    break
            if good:
                break
        picked = [p for p in (good, bad[len(bad) // 2] if bad else None) if p]
        return [os.path.relpath(self.root / p, self.dir) for p in picked]


def make_tree(base: Path, n: int, shape: str = "easy") -> Tree:
    generate, reported, legacy = _tree_generator()
    project = base / (f"tree_{n}" if shape == "easy" else f"tree_{shape}_{n}")
    root = project / "offline_script"
    root.mkdir(parents=True)
    (project / "pyproject.toml").write_text("[tool.opsctl]\n", encoding="utf-8")
    (project / ".ls-lint.yml").write_text(LSLINT_CONFIG, encoding="utf-8")
    t0 = time.perf_counter()
    bad = generate(root, n, bad_ratio=0.05, seed=0, **(legacy if shape == "legacy" else {}))
    seconds = time.perf_counter() - t0
    files = sum(len(files) for _, _, files in os.walk(root))
    return Tree(n, project, root, set(bad), seconds, files, reported(bad), shape)


def newest_change(root: Path) -> float:
    """When the tree's folders last changed (a name added, removed or renamed in one)."""
    return max(os.stat(folder).st_mtime for folder, _, _ in os.walk(root))


def find_lslint(environ: dict[str, str] | None = None) -> tuple[str | None, str]:
    """ls-lint's executable (the Go binary its npm package ships, run directly so that node
    starting up is not counted), or None and why not."""
    env = os.environ if environ is None else environ
    given = env.get("OPSCTL_BENCH_LSLINT")
    folders = [Path(given)] if given and Path(given).is_dir() else [LSLINT_FOLDER]
    if given and not Path(given).is_dir():
        return (given, "") if os.access(given, os.X_OK) else \
            (None, f"OPSCTL_BENCH_LSLINT={given} is not an executable")
    system = {"linux": "linux", "darwin": "darwin", "win32": "windows"}.get(sys.platform, "")
    machine = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64",
               "arm64": "arm64"}.get(platform.machine().lower(), "")
    for folder in folders:
        binary = folder / "node_modules" / "@ls-lint" / "ls-lint" / "bin" / \
            f"ls-lint-{system}-{machine}{'.exe' if system == 'windows' else ''}"
        if os.access(binary, os.X_OK):
            return str(binary), ""
    found = shutil.which("ls-lint")
    if found:
        return found, ""
    return None, (f"ls-lint is not installed: cd {LSLINT_FOLDER} && npm install "
                  "@ls-lint/ls-lint (or set OPSCTL_BENCH_LSLINT to its executable)")


# -- the app for run vs flask ----------------------------------------------------------------

BENCH_APP = '''\
"""A small Flask app for the benchmark, shaped like a real one: config, Flask-SQLAlchemy, its
database from BENCHAPP_DATABASE (an in-memory SQLite one by default)."""

import os

from flask import Flask, current_app
from flask_sqlalchemy import SQLAlchemy

db = SQLAlchemy()


class Order(db.Model):
    id = db.Column(db.Integer, primary_key=True)
    customer = db.Column(db.String(80))


def trivial() -> int:
    """The work both commands do: read the app's configuration in its context."""
    return len(current_app.config)


def create_app() -> Flask:
    app = Flask(__name__)
    app.config["SQLALCHEMY_DATABASE_URI"] = os.environ.get("BENCHAPP_DATABASE", "sqlite://")
    db.init_app(app)

    @app.cli.command("trivial")
    def trivial_command() -> None:
        """Call trivial() in the app context."""
        trivial()

    return app
'''

TRIVIAL_SCRIPT = '''\
"""Call the benchmark app's trivial function: the cheapest useful script."""

from benchapp import trivial


def main() -> None:
    trivial()
'''


def make_run_project(base: Path) -> Path:
    project = base / "runproj"
    (project / "offline_script" / "recycle").mkdir(parents=True)
    (project / "offline_script" / "unrecycle").mkdir()
    (project / "pyproject.toml").write_text('[tool.opsctl]\napp = "benchapp:create_app"\n',
                                            encoding="utf-8")
    (project / "benchapp.py").write_text(BENCH_APP, encoding="utf-8")
    (project / "offline_script" / "recycle" / "trivial.py").write_text(TRIVIAL_SCRIPT,
                                                                       encoding="utf-8")
    # A real project is a git work tree, and opsctl run records its revision: pay for it.
    git = shutil.which("git")
    if git:
        env = {**os.environ, "GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "bench@example.com",
               "GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "bench@example.com"}
        for cmd in (["init", "-q"], ["add", "."], ["commit", "-q", "-m", "benchmark project"]):
            subprocess.run([git, *cmd], cwd=project, env=env, check=True,
                           stdout=subprocess.DEVNULL)
        (project / ".gitignore").write_text("instance/\n__pycache__/\n", encoding="utf-8")
    return project


# -- timing processes ------------------------------------------------------------------------

@dataclass(frozen=True)
class Command:
    """One process to time: argv, folder, and the exit codes that mean it did its job."""

    argv: tuple[str, ...]
    cwd: Path
    ok: frozenset[int] = frozenset({0})
    #: Run before each run of the command, untimed: a cold run empties the cache here.
    before: Callable[[], None] | None = field(default=None, compare=False)

    @property
    def text(self) -> str:
        def short(arg: str) -> str:
            if arg == PYTHON:
                return "python"
            if arg.startswith(str(BIN) + os.sep):
                return arg[len(str(BIN)) + 1:]
            if "\n" in arg:
                return "<floor>"
            return arg if " " not in arg else repr(arg)
        return " ".join(short(a) for a in self.argv)


@dataclass(frozen=True)
class Outcome:
    seconds: float
    cpu_seconds: float  # user + system: less sensitive than wall time to a busy machine
    returncode: int
    stderr: str


def clean_env() -> dict[str, str]:
    """The caller's environment without settings that would change what opsctl or flask do.

    ``PYTHONDONTWRITEBYTECODE`` goes too: with it, every run would compile opsctl from source,
    which no installed copy does (pip writes the bytecode; the warm-up run writes it here).
    """
    dropped = ("PYTHONPATH", "PYTHONDONTWRITEBYTECODE", "FORCE_COLOR")
    return {k: v for k, v in os.environ.items()
            if not k.startswith(("OPSCTL_", "FLASK_")) and k not in dropped}


def run_process(cmd: Command, env: dict[str, str], capture: bool = False) -> tuple[Outcome, str]:
    """Run one process to its end: wall time, CPU time and exit code."""
    if cmd.before is not None:
        cmd.before()
    with tempfile.TemporaryFile() as err, tempfile.TemporaryFile() as out:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd.argv, cwd=cmd.cwd, env=env, stdin=subprocess.DEVNULL,
                                stdout=out if capture else subprocess.DEVNULL, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        stderr = err.read().decode("utf-8", "replace")
        out.seek(0)
        stdout = out.read().decode("utf-8", "replace") if capture else ""
    cpu = usage.ru_utime + usage.ru_stime
    return Outcome(seconds, cpu, proc.returncode, stderr), stdout


TIME = shutil.which("time") or "/usr/bin/time"


def peak_rss_kb(cmd: Command, env: dict[str, str]) -> int | None:
    """The command's peak resident memory in KiB, from GNU ``time``, in a run of its own.

    Not from the timed runs: a child's ``ru_maxrss`` starts from its parent's at the fork,
    and this benchmark holds large trees in memory. ``time`` is small, and forks the command.
    """
    if not os.path.exists(TIME):
        return None
    if cmd.before is not None:
        cmd.before()
    with tempfile.TemporaryFile() as err:
        proc = subprocess.run([TIME, "-f", "%M", *cmd.argv], cwd=cmd.cwd, env=env, check=False,
                              stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err)
        err.seek(0)
        lines = err.read().decode("utf-8", "replace").strip().splitlines()
    try:
        return int(lines[-1]) if proc.returncode in cmd.ok else None
    except (IndexError, ValueError):
        return None


@dataclass
class Side:
    """One side of a comparison: the command and its timings."""

    command: str
    times: list[float] = field(default_factory=list)
    max_rss_kb: int = 0
    cpu_times: list[float] = field(default_factory=list)

    def add(self, outcome: Outcome) -> None:
        self.times.append(outcome.seconds)
        self.cpu_times.append(outcome.cpu_seconds)

    def summary(self) -> dict[str, Any]:
        t = self.times
        return {
            "command": self.command,
            "runs": len(t),
            "min_s": min(t) if t else None,
            "median_s": statistics.median(t) if t else None,
            "max_s": max(t) if t else None,
            "median_cpu_s": statistics.median(self.cpu_times) if self.cpu_times else None,
            "peak_rss_mib": round(self.max_rss_kb / 1024, 1) if self.max_rss_kb else None,
        }

    @property
    def median(self) -> float:
        return statistics.median(self.times)


@dataclass
class Measurement:
    """A measured command against its baseline, or why it could not be measured."""

    key: str
    title: str
    a: Side
    b: Side | None
    status: str = "ok"  # ok | not available | failed
    note: str = ""
    ratios: list[float] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ratio(self) -> float | None:
        return statistics.median(self.ratios) if self.ratios else None

    def as_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "title": self.title,
            "status": self.status,
            "note": self.note,
            "a": self.a.summary(),
            "b": self.b.summary() if self.b else None,
            "median_pairwise_ratio": self.ratio,
            **({"extra": self.extra} if self.extra else {}),
        }


def _unavailable(outcome: Outcome) -> bool:
    return outcome.returncode == 2 and "No such command" in outcome.stderr


def _tail(text: str, lines: int = 2) -> str:
    kept = [line.strip() for line in text.splitlines() if line.strip()]
    return " | ".join(kept[-lines:])


def compare(key: str, title: str, a: Command, b: Command | None, runs: int, env: dict[str, str],
            check: Callable[[str], str | None] | None = None) -> Measurement:
    """Warm up, then time ``a`` and ``b`` alternately ``runs`` times each."""
    m = Measurement(key, title, Side(a.text), Side(b.text) if b else None)
    warm, stdout = run_process(a, env, capture=check is not None)
    if warm.returncode not in a.ok:
        if _unavailable(warm):
            m.status, m.note = "not available", "the command is not in this version"
        else:
            m.status, m.note = "failed", f"exit {warm.returncode}: {_tail(warm.stderr)}"
        return m
    if check is not None:
        problem = check(stdout)
        if problem:
            m.note = problem
    if b is not None:
        warm_b, _ = run_process(b, env)
        if warm_b.returncode not in b.ok:
            m.status = "not available" if _unavailable(warm_b) else "failed"
            m.note = f"baseline exit {warm_b.returncode}: {_tail(warm_b.stderr)}"
            return m
    for _ in range(runs):
        out_a, _ = run_process(a, env)
        m.a.add(out_a)
        if out_a.returncode not in a.ok:
            m.status, m.note = "failed", f"exit {out_a.returncode}: {_tail(out_a.stderr)}"
            return m
        if b is not None and m.b is not None:
            out_b, _ = run_process(b, env)
            m.b.add(out_b)
            m.ratios.append(out_a.seconds / out_b.seconds)
    m.a.max_rss_kb = peak_rss_kb(a, env) or 0
    if b is not None and m.b is not None:
        m.b.max_rss_kb = peak_rss_kb(b, env) or 0
    return m


# -- the ledger, in process ------------------------------------------------------------------

def _ledger_api() -> Any:
    try:
        from opsctl.ledger.store import Ledger
    except ImportError:
        return None
    return Ledger


def measure_ledger(key: str, title: str, url: str, iterations: int) -> Measurement:
    """Open the ledger once, then time one run's rows (start + finish) ``iterations`` times."""
    m = Measurement(key, title, Side(f"Ledger.open({url.split('@')[-1]}) start+finish"), None)
    ledger_cls = _ledger_api()
    if ledger_cls is None:
        m.status, m.note = "not available", "opsctl.ledger.store is not in this version"
        return m
    from opsctl.errors import LedgerUnreachable

    try:
        ledger = ledger_cls.open(url)
    except LedgerUnreachable as exc:  # reported, not fatal: the other measurements stand
        m.status, m.note = "not available", f"cannot open the ledger: {exc}"
        return m
    try:
        one_run = _one_run(ledger)
        for _ in range(3):
            one_run()
        for _ in range(iterations):
            t0 = time.perf_counter()
            one_run()
            m.a.times.append(time.perf_counter() - t0)
    except Exception as exc:  # noqa: BLE001 - a broken ledger is one failed row, not a crash
        m.status, m.note = "failed", f"{type(exc).__name__}: {exc}"
    finally:
        ledger.close()
    return m


def _one_run(ledger: Any) -> Callable[[], None]:
    """start + finish of one run: the rows ``opsctl run`` writes around a script (its run row
    and lock, then the completed row and the lock released)."""
    from opsctl.ledger.values import Process

    process = Process.current("bench")

    def one_run() -> None:
        run = ledger.start(script="recycle/trivial", process=process,
                           args=["--older-than", "7d"], sha256="0" * 64,
                           git_revision="0" * 40, git_dirty=False,
                           environment="development", reason="benchmark")
        ledger.finish(run, status="succeeded", exit_code=0, output_tail="done\n",
                      summary={"rows_updated": 0})

    return one_run


class PostgresDatabase:
    """A throwaway PostgreSQL database for the ledger measurement."""

    def __init__(self, server: str) -> None:
        self.server = server
        self.name = f"opsctl_bench_{uuid.uuid4().hex[:10]}"
        self.url: str | None = None
        self.error = ""

    def __enter__(self) -> Self:
        import sqlalchemy as sa

        try:
            self._admin = sa.create_engine(f"{self.server}/postgres", isolation_level="AUTOCOMMIT")
            with self._admin.connect() as conn:
                conn.execute(sa.text(f"CREATE DATABASE {self.name}"))
            self.url = f"{self.server}/{self.name}"
        except (ImportError, sa.exc.SQLAlchemyError) as exc:  # no server, no driver: reported
            self.error = f"{type(exc).__name__}: {str(exc).splitlines()[0]}"
        return self

    def __exit__(self, *exc: object) -> None:
        if self.url is None:
            return
        import sqlalchemy as sa

        with self._admin.connect() as conn:
            conn.execute(sa.text(f"DROP DATABASE IF EXISTS {self.name} WITH (FORCE)"))
        self._admin.dispose()


# -- ledgers at scale ------------------------------------------------------------------------

#: What a filled ledger's runs end as, in turn: mostly successes, some failures and the rest.
FILL_STATUSES = ("succeeded",) * 7 + ("failed", "interrupted", "lost")


def fill_ledger(url: str, n: int, keys: Sequence[str], *, batch: int = 5_000,
                tail: int = 200) -> float:
    """Write ``n`` finished runs to the ledger at ``url`` (created if need be), spread over
    ``keys`` in turn, one a minute up to now, each row built by the ledger's own row builder
    (:func:`opsctl.ledger.writes.whole_values`, as a run that ends before it starts is
    written) and inserted ``batch`` at a time in one ``executemany``. Statuses, operators and
    dry runs (one in seven) are drawn at random, the same for the same ``n``; each run has an
    output tail of ``tail`` characters. ``opsctl_latest``'s triggers are dropped for the
    fill, and the table made again from the runs after it, once (:mod:`opsctl.ledger.latest`).
    Returns the seconds it took."""
    from opsctl.ledger.latest import keep_latest, unkept
    from opsctl.ledger.schema import RUNS
    from opsctl.ledger.store import Ledger
    from opsctl.ledger.values import Process
    from opsctl.ledger.writes import whole_values

    t0 = time.perf_counter()
    first = _dt.datetime.now(_dt.UTC).replace(tzinfo=None) - _dt.timedelta(minutes=n + 1)
    operators = [Process(name, "bench-host", 4242, "bench-host/boot/ns", None)
                 for name in ("alice", "bob", "carol")]
    output = ("x" * 79 + "\n") * (tail // 80) + "x" * (tail % 80)
    pick = random.Random(n)
    with Ledger.open(url) as ledger, ledger.engine.begin() as conn:
        unkept(conn)
        rows: list[dict[str, Any]] = []
        for i in range(n):
            status = pick.choice(FILL_STATUSES)
            values = whole_values(script=keys[i % len(keys)], process=pick.choice(operators),
                                  args=["--limit", str(i % 100)], status=status,
                                  exit_code=0 if status == "succeeded" else 1,
                                  dry_run=pick.random() < 1 / 7, environment="production")
            started = first + _dt.timedelta(minutes=i)
            values.update(started_at=started, ended_at=started + _dt.timedelta(seconds=2),
                          output_tail=output)
            rows.append(values)
            if len(rows) == batch:
                conn.execute(RUNS.insert(), rows)
                rows = []
        if rows:
            conn.execute(RUNS.insert(), rows)
        keep_latest(conn)
    return time.perf_counter() - t0


class ServerDatabase:
    """A throwaway database on a PostgreSQL or MariaDB server (``url``), dropped afterwards;
    ``error`` says why there is none (no server, no driver)."""

    def __init__(self, server: str) -> None:
        self.server = server
        self.postgres = server.startswith("postgresql")
        self.name = f"opsctl_bench_{uuid.uuid4().hex[:10]}"
        self.url: str | None = None
        self.error = ""

    def __enter__(self) -> Self:
        import sqlalchemy as sa

        try:
            self._admin = sa.create_engine(self.server + ("/postgres" if self.postgres
                                                          else "/test"),
                                           isolation_level="AUTOCOMMIT")
            with self._admin.connect() as conn:
                conn.execute(sa.text(f"CREATE DATABASE {self.name}"))
            self.url = f"{self.server}/{self.name}"
        except (ImportError, sa.exc.SQLAlchemyError) as exc:  # reported, not fatal
            self.error = f"{type(exc).__name__}: {str(exc).splitlines()[0]}"
        return self

    def __exit__(self, *exc: object) -> None:
        if self.url is None:
            return
        import sqlalchemy as sa

        force = " WITH (FORCE)" if self.postgres else ""
        with self._admin.connect() as conn:
            conn.execute(sa.text(f"DROP DATABASE IF EXISTS {self.name}{force}"))
        self._admin.dispose()


# -- history and list on ledgers of 1k to 1M runs --------------------------------------------

#: How the databases are named in titles.
DATABASE_NAMES = {"sqlite": "SQLite", "postgresql": "PostgreSQL", "mariadb": "MariaDB"}
#: The ledger sizes (runs) history and list are read at; quick mode, on SQLite only.
LEDGER_SIZES = (1_000, 100_000, 1_000_000)
LEDGER_SIZES_QUICK = (1_000, 100_000)
#: Scripts in the project those ledgers belong to; each has runs in every ledger.
LEDGER_SCRIPTS = 1_000


@dataclass(frozen=True)
class ScalePlan:
    """What the ledger measurements cover: sizes, databases, runs per measurement."""

    sizes: tuple[int, ...]
    databases: tuple[str, ...]
    runs: int
    quick: bool

    @classmethod
    def make(cls, plan: Plan, sizes: Sequence[int] | None) -> ScalePlan:
        chosen = tuple(sizes or (LEDGER_SIZES_QUICK if plan.quick else LEDGER_SIZES))
        return cls(chosen, ("sqlite",) if plan.quick else ("sqlite", "postgresql"),
                   plan.runs_list, plan.quick)

    def runs_all(self, n: int) -> int:
        """Runs of ``history --limit 0 --json``, which writes every run: one at 1M."""
        return 1 if n >= 1_000_000 else min(self.runs, 3)


def make_ledger_project(base: Path) -> tuple[Path, list[str]]:
    """A project of :data:`LEDGER_SCRIPTS` well-named scripts (tests/treegen.py) and their
    keys; its ledger is named by ``OPSCTL_LEDGER_URL`` in each measurement."""
    from opsctl.catalogue import Catalogue, printable

    generate = _tree_generator()[0]
    project = base / "ledger_project"
    root = project / "offline_script"
    root.mkdir(parents=True)
    (project / "pyproject.toml").write_text("[tool.opsctl]\n", encoding="utf-8")
    generate(root, LEDGER_SCRIPTS, bad_ratio=0.0, seed=1)
    return project, [printable(s.key) for s in Catalogue(root).scripts]


@contextmanager
def ledger_database(database: str, workdir: Path, n: int) -> Iterator[tuple[str | None, str]]:
    """``(url, why not)``: a fresh SQLite file, or a throwaway PostgreSQL database."""
    if database == "sqlite":
        path = workdir / f"ledger_{n}.sqlite3"
        try:
            yield f"sqlite:///{path}", ""
        finally:
            for leftover in workdir.glob(f"ledger_{n}.sqlite3*"):
                leftover.unlink()
        return
    with ServerDatabase(PG_SERVER) as server:
        yield server.url, server.error


def measure_ledger_reads(plan: ScalePlan, workdir: Path,
                         env: dict[str, str]) -> list[Measurement]:
    """``history`` (20 rows) against ``opsctl --help``, ``list`` against ``list --no-runs``,
    and ``history --limit 0 --json`` (time and peak memory), on each ledger size and
    database; every ledger filled by :func:`fill_ledger`."""
    project, keys = make_ledger_project(workdir)
    out: list[Measurement] = []
    for database in plan.databases:
        for n in plan.sizes:
            with ledger_database(database, workdir, n) as (url, error):
                suffix = f"{database}_{n}"
                what = f"{n:,}-run {DATABASE_NAMES[database]} ledger"
                if url is None:
                    for key in ("history", "list", "history_all"):
                        out.append(Measurement(f"{key}_{suffix}", f"{key}, {what}", Side("-"),
                                               None, "not available", error))
                    continue
                log(f"filling a {what} ({len(keys):,} scripts) ...")
                seconds = fill_ledger(url, n, keys)
                if database == "postgresql":  # statistics, as autovacuum soon has them
                    _analyze(url)
                log(f"  {seconds:.1f} s")
                e = {**env, "OPSCTL_LEDGER_URL": url}
                m = compare(f"history_{suffix}", f"opsctl history (20 rows), {what} vs --help",
                            Command((OPSCTL, "history"), project),
                            Command((OPSCTL, "--help"), project), plan.runs, e)
                m.extra.update(runs=n, database=database, fill_s=round(seconds, 1))
                out.append(m)
                m = compare(f"list_{suffix}", f"opsctl list, {what} vs list --no-runs",
                            Command((OPSCTL, "list"), project),
                            Command((OPSCTL, "list", "--no-runs"), project), plan.runs, e)
                m.extra.update(runs=n, database=database)
                out.append(m)
                m = compare(f"history_all_{suffix}", f"opsctl history --limit 0 --json, {what}",
                            Command((OPSCTL, "history", "--limit", "0", "--json"), project),
                            None, plan.runs_all(n), e)
                m.extra.update(runs=n, database=database)
                out.append(m)
    return out


def _analyze(url: str) -> None:
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")
    finally:
        engine.dispose()


def _pairwise_extra_ms(m: Measurement) -> float:
    """The median, over the pairs, of how much longer A took than B, in ms."""
    assert m.b is not None
    return statistics.median(a - b for a, b in zip(m.a.times, m.b.times, strict=False)) * 1000


def ledger_read_targets(ms: dict[str, Measurement], plan: ScalePlan) -> list[Target]:
    """History within 100 ms of ``--help``, list within 1.3x of ``list --no-runs``, at every
    ledger size; ``history --limit 0 --json``'s memory flat in the number of runs. Held on
    SQLite (the default ledger); on PostgreSQL the history is held too (read as on SQLite,
    without SQLAlchemy or the driver), the others reported."""
    targets: list[Target] = []
    span = f"{min(plan.sizes):,} to {max(plan.sizes):,} runs"
    quick = "quick mode: a few runs, indicative only" if plan.quick else ""
    for database in plan.databases:
        required = database == "sqlite"
        held = database in ("sqlite", "postgresql")
        label = f"{DATABASE_NAMES[database]}, {span}"
        found = [ms.get(f"history_{database}_{n}") for n in plan.sizes]
        name = f"opsctl history (20 rows) <= opsctl --help + 100 ms ({label})"
        if all(m is not None and m.status == "ok" and m.b for m in found):
            extra = {n: _pairwise_extra_ms(m) for n, m in zip(plan.sizes, found, strict=True)
                     if m is not None}
            worst = max(extra.values())
            targets.append(Target(name, "; ".join(f"{n:,}: +{v:.0f} ms" for n, v in
                                                  extra.items()), worst, "<= +100 ms",
                                  worst <= 100, quick, held, unit="ms"))
        else:
            targets.append(Target(name, "-", None, "<= +100 ms", None, _why(found), held))
        found = [ms.get(f"list_{database}_{n}") for n in plan.sizes]
        name = f"opsctl list <= 1.3x list --no-runs ({label})"
        if all(m is not None and m.status == "ok" and m.ratio for m in found):
            ratios = {n: m.ratio for n, m in zip(plan.sizes, found, strict=True)
                      if m is not None and m.ratio is not None}
            worst = max(ratios.values())
            targets.append(Target(name, "; ".join(f"{n:,}: {v:.2f}x" for n, v in
                                                  ratios.items()), worst, "<= 1.3x",
                                  worst <= 1.3, quick, required))
        else:
            targets.append(Target(name, "-", None, "<= 1.3x", None, _why(found), required))
        found = [ms.get(f"history_all_{database}_{n}") for n in plan.sizes]
        name = f"opsctl history --limit 0 --json: peak memory flat ({label})"
        if all(m is not None and m.status == "ok" and m.a.max_rss_kb for m in found):
            peaks = {n: m.a.max_rss_kb / 1024 for n, m in zip(plan.sizes, found, strict=True)
                     if m is not None}
            growth = peaks[max(plan.sizes)] / peaks[min(plan.sizes)]
            times = "; ".join(f"{n:,}: {_ms(m.a.median)}" for n, m in
                              zip(plan.sizes, found, strict=True) if m is not None)
            targets.append(Target(name, "; ".join(f"{n:,}: {v:.0f} MiB" for n, v in
                                                  peaks.items()), growth, "<= 1.25x",
                                  growth <= 1.25, f"time {times}", required))
        else:
            targets.append(Target(name, "-", None, "<= 1.25x", None, _why(found), required))
    return targets


def _why(found: Sequence[Measurement | None]) -> str:
    for m in found:
        if m is None:
            return "not measured"
        if m.status != "ok":
            return f"{m.status}: {m.note}"
    return "incomplete"


# -- run on every ledger ---------------------------------------------------------------------

#: The driver imports the ledger's database adds when the app does not make them anyway:
#: the DBAPI module and SQLAlchemy's dialect for it, over ``import sqlalchemy``.
DRIVERS = {"postgresql": "import sqlalchemy, psycopg, sqlalchemy.dialects.postgresql.psycopg",
           "mariadb": "import sqlalchemy, pymysql, sqlalchemy.dialects.mysql.pymysql"}


def measure_run_ledgers(plan: Plan, run_project: Path,
                        env: dict[str, str]) -> list[Measurement]:
    """``opsctl run`` with a PostgreSQL ledger (the app on SQLite, then on PostgreSQL too)
    and a MariaDB ledger (the app on SQLite), each against the same ``flask`` command with
    the same app; and each driver's import time, on its own line."""
    out: list[Measurement] = []
    run = Command((OPSCTL, "run", "recycle/trivial"), run_project)
    flask = Command((FLASK, "--app", "benchapp:create_app", "trivial"), run_project)
    for database, server in (("postgresql", PG_SERVER), ("mariadb", MARIADB_SERVER)):
        log(f"{DRIVERS[database]} vs import sqlalchemy")
        out.append(compare(f"driver_{database}", f"{DATABASE_NAMES[database]} driver: "
                           f"python -c '{DRIVERS[database]}' vs 'import sqlalchemy'",
                           Command((PYTHON, "-c", DRIVERS[database]), run_project),
                           Command((PYTHON, "-c", "import sqlalchemy"), run_project),
                           plan.runs_run, env))
        apps = [("sqlite", "app on SQLite")]
        if database == "postgresql":
            apps.append(("postgresql", "app on PostgreSQL"))
        with ServerDatabase(server) as db:
            for app, words in apps:
                key = f"run_{database}" + ("_app" if app != "sqlite" else "")
                title = (f"opsctl run, {DATABASE_NAMES[database]} ledger, {words} vs flask "
                         "command")
                if db.url is None:
                    out.append(Measurement(key, title, Side("-"), None, "not available",
                                           db.error))
                    continue
                e = {**env, "OPSCTL_LEDGER_URL": db.url}
                if app != "sqlite":
                    e["BENCHAPP_DATABASE"] = db.url
                log(title)
                out.append(compare(key, title, run, flask, plan.runs_run, e))
    return out


def run_ledger_targets(ms: dict[str, Measurement], quick: bool) -> list[Target]:
    """``opsctl run`` within 1.1x of the flask command on every ledger: as it is when the app
    imports the ledger's driver anyway, else once that driver's import time is taken off."""
    targets = [_ratio_target("opsctl run, PostgreSQL ledger, app on PostgreSQL <= 1.1x flask",
                             ms.get("run_postgresql_app"), 1.1, quick=quick)]
    for database in ("postgresql", "mariadb"):
        driver, m = ms.get(f"driver_{database}"), ms.get(f"run_{database}")
        name = (f"opsctl run, {DATABASE_NAMES[database]} ledger, app on SQLite <= 1.1x flask "
                "+ driver import")
        if driver is None or m is None or driver.status != "ok" or m.status != "ok" or \
                m.b is None:
            why = _why([driver, m])
            targets.append(Target(name, "-", None, "<= 1.1x", None, why))
            continue
        cost = _pairwise_extra_ms(driver) / 1000
        ratios = [(a - cost) / b for a, b in zip(m.a.times, m.b.times, strict=False)]
        value = statistics.median(ratios)
        targets.append(Target(name, f"{_ms(m.a.median)} - {_ms(cost)} vs {_ms(m.b.median)} "
                               f"(raw {m.ratio or 0:.2f}x)", value, "<= 1.1x", value <= 1.1,
                              "quick mode: indicative only" if quick else ""))
        targets.append(Target(f"{DATABASE_NAMES[database]} driver import (reported)",
                              f"median of "
                              f"{len(driver.a.times)} pairs", cost * 1000, "reported", None,
                              required=False, unit="ms"))
    return targets


# -- run --queue: an idle worker starting the script (tests/bench_queues.py) -----------------

def measure_queues(plan: Plan, workdir: Path, env: dict[str, str]) -> list[Measurement]:
    """Per engine, the seconds from ``opsctl run --queue`` returning to an idle worker
    starting the script; an engine whose package or server is missing is skipped, saying
    why."""
    try:
        from tests import bench_queues
    except ImportError:
        import bench_queues  # type: ignore[no-redef]

    found = []
    for engine in bench_queues.ENGINES:
        title = f"run --queue returning -> {engine} worker starts the script"
        m = Measurement(f"queue_{engine}", title,
                        Side(f"opsctl run --queue ({engine}), idle worker"), None)
        why = bench_queues.unavailable(engine)
        if why:
            m.status, m.note = "not available", why
        else:
            log(f"opsctl run --queue, {engine}")
            try:
                returned, asked = bench_queues.latencies(engine, plan.runs_run, workdir, env)
            except RuntimeError as exc:
                m.status, m.note = "failed", str(exc)
            else:
                m.a.times = returned
                m.extra["from_asking_median_s"] = statistics.median(asked)
                m.note = f"from asking: median {_ms(statistics.median(asked))}"
        found.append(m)
    found.append(measure_shards(plan, workdir, env, bench_queues))
    return found


def measure_shards(plan: Plan, workdir: Path, env: dict[str, str],
                   bench_queues: Any) -> Measurement:
    """The batches loop as ``--shards 2`` on two RQ workers against one queued run on one
    worker (:func:`bench_queues.sharded_throughput`): the ratio is of the spans the runs
    took, two workers over one (below 1: faster)."""
    rows = bench_queues.SHARD_ROWS
    title = f"batches() loop, {rows:,} rows, PostgreSQL: --shards 2 on 2 RQ workers vs 1"
    m = Measurement("queue_shards", title, Side("opsctl run --queue --shards 2 (2 workers)"),
                    Side("opsctl run --queue (1 worker)"))
    if plan.quick:  # two workers and eight whole runs: longer than the rest of quick mode
        m.status, m.note = "not available", ("quick mode leaves it out: python -m "
                                             "tests.bench_queues --only-shards measures it")
        return m
    log("opsctl run --queue --shards 2")
    try:
        found = bench_queues.sharded_throughput(workdir, env, rows, min(plan.runs_run, 5))
    except RuntimeError as exc:
        m.status, m.note = "failed", str(exc)[:300]
        return m
    if "skipped" in found:
        m.status, m.note = "not available", found["skipped"]
        return m
    m.a.times, m.b.times = found["two"], found["one"]  # type: ignore[union-attr]
    m.ratios = [a / b for a, b in zip(found["two"], found["one"], strict=True)]
    m.note = bench_queues.sharded_line(found)
    return m


def queue_targets(ms: dict[str, Measurement]) -> list[Target]:
    """RQ's start within 1 s of run --queue returning (issue 17); Celery's, and the sharded
    throughput (two workers' span over one's), reported."""
    shards = _ratio_target("--shards 2 on 2 RQ workers vs 1 worker, batches() loop span",
                           ms.get("queue_shards"), 1.0)
    shards.required = False
    return [_ledger_target("run --queue -> RQ worker starts the script (idle)",
                           ms.get("queue_rq"), 1.0),
            _ledger_target("run --queue -> Celery worker starts the script (idle)",
                           ms.get("queue_celery"), None), shards]


# -- targets ---------------------------------------------------------------------------------

@dataclass
class Target:
    """One §8 target: what was measured against what, the limit, and whether it holds."""

    target: str
    measured: str
    value: float | None
    limit: str
    holds: bool | None  # None: not measured in this run
    note: str = ""
    required: bool = True  # False: reported only, no limit in §8
    unit: str = "x"  # "x": a ratio; "ms": a duration

    @property
    def verdict(self) -> str:
        if not self.required:
            return "reported" if self.value is not None else "n/a"
        return {True: "yes", False: "NO", None: "n/a"}[self.holds]


def _ratio_target(target: str, m: Measurement | None, limit: float, quick_note: str = "",
                  quick: bool = False) -> Target:
    if m is None:
        return Target(target, "-", None, f"<= {limit}x", None, quick_note or "not measured")
    if m.status != "ok" or m.ratio is None:
        return Target(target, "-", None, f"<= {limit}x", None if m.status == "not available"
                      else False, f"{m.status}: {m.note}")
    note = m.note
    if quick:  # a handful of pairs: a verdict from them says little either way
        note = "; ".join(filter(None, [f"quick mode: {len(m.a.times)} pairs, indicative only; "
                                       "the full run decides", note]))
    return Target(target, f"{_ms(m.a.median)} vs {_ms(m.b.median) if m.b else '-'}",
                  m.ratio, f"<= {limit}x", m.ratio <= limit, note)


def _ms(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    return f"{seconds * 1000:.1f} ms" if seconds < 1 else f"{seconds:.2f} s"


def evaluate(ms: dict[str, Measurement], sizes: Sequence[int], quick: bool,
             legacy: Sequence[int] = ()) -> list[Target]:
    """Turn the measurements into the §8 table, and the legacy trees' targets (issue 15)."""
    targets: list[Target] = []
    targets.append(_ratio_target("opsctl --help <= 1.5x python -c 'import click, rich'",
                                 ms.get("help"), 1.5, quick=quick))
    for n in (10_000, 100_000):
        targets.append(_ratio_target(f"opsctl lint, {n:,} scripts <= 2x the floor",
                                     ms.get(f"lint_{n}"), 2.0,
                                     "quick mode: 1,000 scripts only" if quick else ""))
    targets.append(_linear_target(ms, sizes))
    targets.append(_precommit_target(ms, max(sizes), quick))
    targets.append(_ratio_target("opsctl run trivial script <= 1.1x flask custom command",
                                 ms.get("run"), 1.1, quick=quick))
    targets.append(_ledger_target("ledger writes of one run, SQLite < 5 ms",
                                  ms.get("ledger_sqlite"), 0.005))
    pg = ms.get("ledger_postgresql")
    t = _ledger_target("ledger writes of one run, PostgreSQL (reported)", pg, None)
    targets.append(t)
    for n in legacy:
        targets += _legacy_targets(ms, n, quick)
    return targets


def _legacy_targets(ms: dict[str, Measurement], n: int, quick: bool) -> list[Target]:
    """On a legacy tree: warm <= 1.5x the name floor, cold <= 1.5x the content floor, peak
    memory <= 2x the floor's, warm >= 5x faster than ls-lint and cold faster, and (on the
    10,000-script tree) list warm <= 2x the floor."""
    warm, cold = ms.get(f"legacy_warm_{n}"), ms.get(f"legacy_cold_{n}")
    targets = [
        _ratio_target(f"opsctl lint, legacy {n:,}, warm <= 1.5x the name floor", warm, 1.5,
                      quick=quick),
        _ratio_target(f"opsctl lint, legacy {n:,}, cold <= 1.5x the content floor", cold, 1.5,
                      quick=quick),
        _memory_target(f"opsctl lint, legacy {n:,}, peak memory <= 2x the floor's",
                       [m for m in (warm, cold) if m is not None], 2.0),
    ]
    for key, limit, words in (("warm", 0.2, ">= 5x faster than"), ("cold", 1.0, "faster than")):
        m = ms.get(f"lslint_{key}_{n}")
        target = _ratio_target(f"opsctl lint, legacy {n:,}, {key} {words} ls-lint (time "
                               f"opsctl / ls-lint)", m, limit, quick=quick)
        if m is not None and m.status == "not available":
            target.required = False  # skipped, with the reason in the note
        targets.append(target)
    listed = ms.get(f"legacy_list_{n}")
    if listed is not None:
        targets.append(_ratio_target(f"opsctl list --json, legacy {n:,}, warm <= 2x the floor",
                                     listed, 2.0, quick=quick))
    return targets


def _memory_target(name: str, ms: Sequence[Measurement], limit: float) -> Target:
    """The largest ratio of peak resident memory, opsctl to its floor, over ``ms``."""
    pairs = [(m.title, m.a.max_rss_kb / m.b.max_rss_kb) for m in ms
             if m.status == "ok" and m.b is not None and m.a.max_rss_kb and m.b.max_rss_kb]
    if not pairs:
        return Target(name, "-", None, f"<= {limit}x", None, "not measured")
    title, worst = max(pairs, key=lambda p: p[1])
    detail = ", ".join(f"{t.split(',')[0].removeprefix('opsctl lint ')} {r:.2f}x"
                       for t, r in pairs)
    return Target(name, detail, worst, f"<= {limit}x", worst <= limit, f"worst: {title}")


def _linear_target(ms: dict[str, Measurement], sizes: Sequence[int]) -> Target:
    """The floor is linear by construction (one ``scandir`` entry, one match per name), so a
    linear lint keeps its ratio to the floor from growing between the middle and the largest
    tree (a fixed start-up cost even makes it shrink); a superlinear one shows as growth.
    Pairwise ratios, not differences of medians: drift on a busy machine cancels out."""
    name = "opsctl lint grows linearly (its ratio to the floor, largest vs middle tree)"
    lints = [ms.get(f"lint_{n}") for n in sizes]
    if len(sizes) < 3:
        return Target(name, "-", None, "<= 1.1x", None, "quick mode: one tree size")
    if any(m is None or m.status != "ok" or m.ratio is None for m in lints):
        return Target(name, "-", None, "<= 1.1x", None, "needs lint on three tree sizes")
    small, mid, large = (m for m in lints if m is not None)
    assert mid.ratio is not None and large.ratio is not None
    growth = large.ratio / mid.ratio
    n1, n2, n3 = sizes

    def marginal(side: Callable[[Measurement], float]) -> str:
        per_mid = (side(mid) - side(small)) / (n2 - n1)
        per_large = (side(large) - side(mid)) / (n3 - n2)
        return f"{per_mid * 1e6:.2f} -> {per_large * 1e6:.2f} us/script"

    floor = marginal(lambda m: m.b.median if m.b else 0.0)
    return Target(name, f"{mid.ratio:.2f}x at {n2:,} -> {large.ratio:.2f}x at {n3:,}", growth,
                  "<= 1.1x", growth <= 1.1,
                  f"marginal cost {marginal(lambda m: m.a.median)} (the floor: {floor})")


def _precommit_target(ms: dict[str, Measurement], n: int, quick: bool = False) -> Target:
    """Two names on the largest tree cost less than the bare walk of that tree: whatever the
    lint does for them, it is not walking the tree (opsctl's start-up alone is most of it)."""
    name = "opsctl lint FILE FILE on 100,000 scripts does not walk the tree (< the floor)"
    m = ms.get(f"lint_files_{n}")
    whole = ms.get(f"lint_{n}")
    if quick:
        return Target(name, "-", None, "< 1x floor", None,
                      "quick mode: only the 100,000-script tree's walk outweighs start-up")
    if m is None:
        return Target(name, "-", None, "< 1x floor", None, "not measured")
    if m.status != "ok" or m.ratio is None:
        return Target(name, "-", None, "< 1x floor",
                      None if m.status == "not available" else False, f"{m.status}: {m.note}")
    note = ""
    if whole is not None and whole.status == "ok":
        note = f"{m.a.median / whole.a.median:.2f}x the whole-tree lint ({_ms(whole.a.median)})"
    small = ms.get("lint_files_small")
    if small is not None and small.status == "ok":
        note += (f"; {m.a.median / small.a.median:.2f}x the same on "
                 f"{small.extra.get('scripts', 0):,} scripts")
    return Target(name, f"{_ms(m.a.median)} vs floor {_ms(m.b.median) if m.b else '-'}",
                  m.ratio, "< 1x floor", m.ratio < 1.0, note)


def _ledger_target(name: str, m: Measurement | None, limit_s: float | None) -> Target:
    limit = f"< {limit_s * 1000:.0f} ms" if limit_s is not None else "reported"
    required = limit_s is not None
    if m is None:
        return Target(name, "-", None, limit, None, "not measured", required)
    if m.status != "ok":
        return Target(name, "-", None, limit, None if m.status == "not available" else False,
                      f"{m.status}: {m.note}", required)
    med = m.a.median
    holds = med < limit_s if limit_s is not None else None
    return Target(name, f"median of {len(m.a.times)} runs (min {_ms(min(m.a.times))}, max "
                        f"{_ms(max(m.a.times))})", med * 1000, limit, holds,
                  required=limit_s is not None, unit="ms")


# -- printing --------------------------------------------------------------------------------

def _grid(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(r[i]) for r in (header, *rows)) for i in range(len(header))]
    line = "  ".join("-" * w for w in widths)
    out = ["  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)).rstrip(), line]
    out += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    return "\n".join(out)


def measurements_table(ms: Sequence[Measurement]) -> str:
    rows = []
    for m in ms:
        if m.status != "ok":
            rows.append([m.title, m.status, "", "", "", m.note[:90]])
            continue
        a, b = m.a.summary(), m.b.summary() if m.b else None

        def trio(s: dict[str, Any]) -> str:
            return f"{_ms(s['min_s'])} / {_ms(s['median_s'])} / {_ms(s['max_s'])}"

        rss = f"{a['peak_rss_mib']}" + (f" / {b['peak_rss_mib']}" if b else "") \
            if a["peak_rss_mib"] else ""
        rows.append([m.title, trio(a), trio(b) if b else "", f"{m.ratio:.2f}x" if m.ratio
                     else "", rss, m.note[:90]])
    return _grid(["measurement", "A min / median / max", "baseline B min / median / max",
                  "A/B (median)", "peak MiB A / B", "note"], rows)


def targets_table(targets: Sequence[Target]) -> str:
    rows = []
    for t in targets:
        value = "-" if t.value is None else f"{t.value:.2f}{' ms' if t.unit == 'ms' else 'x'}"
        rows.append([t.target, t.measured, value, t.limit, t.verdict, t.note])
    return _grid(["SPEC §8 target", "measured", "ratio / value", "limit", "holds", "note"],
                 rows)


# -- the benchmark ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Plan:
    """How much to measure: tree sizes and runs per measurement."""

    quick: bool
    sizes: tuple[int, ...]
    runs_help: int
    runs_lint: dict[int, int]
    runs_files: int
    runs_list: int
    runs_run: int
    ledger_iterations: int
    #: The legacy trees (tests/treegen.py LEGACY) and runs on each.
    legacy: dict[int, int] = field(default_factory=dict)
    #: Pairs of batches() and hand-written loops, each through every row (bench_batches).
    runs_batches: int = 5

    @classmethod
    def make(cls, quick: bool, runs: int | None, size: int | None) -> Plan:
        if quick:
            sizes: tuple[int, ...] = (size or 1_000,)
            plan = cls(True, sizes, 5, {sizes[0]: 5}, 5, 3, 3, 50, {sizes[0]: 3}, 2)
        else:
            sizes = (1_000, 10_000, 100_000)
            # About four minutes here, most of it writing the 100,000-script trees; more
            # pairs than strictly needed, since the median of the ratios is what is judged.
            plan = cls(False, sizes, 31, {1_000: 21, 10_000: 21, 100_000: 15}, 15, 11, 21, 500,
                       {10_000: 11, 100_000: 5}, 5)
        if runs is not None:
            plan = cls(plan.quick, plan.sizes, runs, {n: runs for n in plan.sizes}, runs, runs,
                       runs, max(runs * 10, 10), {n: runs for n in plan.legacy}, runs)
        return plan


def lint_check(tree: Tree) -> Callable[[str], str | None]:
    """A sanity check of the warm-up's output: the lint reports the bad names it was given
    (the stale ones in one summary, at the oldest)."""
    def check(stdout: str) -> str | None:
        names = {p.rsplit("/", 1)[-1] for p in tree.reported if p.isprintable() and
                 p.encode("utf-8", "surrogateescape").isascii()}
        missed = [n for n in names if n not in stdout]
        if missed:
            return f"{len(missed)} of {len(names)} bad names not in the output, e.g. {missed[0]}"
        return None
    return check


def list_check(tree: Tree) -> Callable[[str], str | None]:
    def check(stdout: str) -> str | None:
        try:
            count = len(json.loads(stdout))
        except ValueError as exc:
            return f"not JSON: {exc}"
        return None if count > tree.n * 0.8 else f"only {count} scripts listed"
    return check


def measure_legacy(plan: Plan, workdir: Path, env: dict[str, str],
                   record: Callable[[Measurement], None]) -> None:
    """The legacy trees: ``opsctl lint`` warm (its content cache filled) against the name
    floor, cold (the cache emptied before each run) against the content floor, both against
    ls-lint when it is installed, and ``opsctl list`` warm against the name floor."""
    lslint, why_not = find_lslint()
    for n in plan.legacy:
        log(f"generating a legacy tree of {n:,} scripts (tests/treegen.py LEGACY) ...")
        tree = make_tree(workdir, n, "legacy")
        log(f"  {tree.files:,} files, {len(tree.bad):,} bad, {tree.seconds:.1f} s")
        runs = plan.legacy[n]
        floor = Command((PYTHON, "-c", FLOOR_CODE, str(tree.root)), tree.dir)
        content_floor = Command((PYTHON, "-c", CONTENT_FLOOR_CODE, str(tree.root)), tree.dir)
        warm = Command((OPSCTL, "lint"), tree.dir, frozenset({0, 1}))
        cold = Command((OPSCTL, "lint"), tree.dir, frozenset({0, 1}), before=tree.drop_cache)
        # A warm lint replays a folder on its signature once the folder has settled (changed
        # over three seconds before: opsctl.lint.namecache.SETTLED_NS); a tree written a
        # moment ago is listed folder by folder until then, which no repeated lint of a real
        # project sees.
        from opsctl.lint.namecache import SETTLED_NS

        time.sleep(max(0.0, SETTLED_NS / 1e9 + 0.5 - (time.time() - newest_change(tree.root))))
        log(f"opsctl lint on the legacy tree of {n:,}, warm and cold")
        record(compare(f"legacy_warm_{n}", f"opsctl lint warm, legacy {n:,} vs name floor",
                       warm, floor, runs, env, check=lint_check(tree)))
        record(compare(f"legacy_cold_{n}", f"opsctl lint cold, legacy {n:,} vs content floor",
                       cold, content_floor, runs, env, check=lint_check(tree)))
        for key, side in (("warm", warm), ("cold", cold)):
            title = f"opsctl lint {key}, legacy {n:,} vs ls-lint"
            if lslint is None:
                record(Measurement(f"lslint_{key}_{n}", title, Side("-"), None, "not available",
                                   why_not))
                continue
            log(f"{title} ({lslint})")
            record(compare(f"lslint_{key}_{n}", title, side,
                           Command((lslint,), tree.dir, frozenset({0, 1})), runs, env))
        if n == min(plan.legacy, key=lambda size: abs(size - 10_000)):
            log(f"opsctl list --json on the legacy tree of {n:,}, warm")
            record(compare(f"legacy_list_{n}", f"opsctl list --json warm, legacy {n:,} vs floor",
                           Command((OPSCTL, "list", "--json"), tree.dir), floor,
                           plan.runs_list, env, check=list_check(tree)))
        tree.drop_cache()


def _load() -> list[float] | None:
    """The 1, 5 and 15-minute load averages: other work on the machine shows up as noise."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


#: Lines ``--skip`` may leave out: each has a module of its own (tests/bench_queues.py,
#: tests/bench_batches.py) with starts of its own (workers, filled tables).
SKIPPABLE = ("queues", "batches")


def run_benchmark(plan: Plan, workdir: Path, ledger_sizes: Sequence[int] | None = None,
                  batch_rows: int | None = None,
                  skip: Sequence[str] = ()) -> dict[str, Any]:
    env = clean_env()
    started = time.perf_counter()
    load_start = _load()
    log(f"load average at start: {load_start}")
    ms: dict[str, Measurement] = {}

    def record(m: Measurement) -> None:
        ms[m.key] = m
        tail = f" ratio {m.ratio:.2f}x" if m.ratio else ""
        med = f" median {_ms(m.a.median)}" if m.a.times else ""
        log(f"  {m.title}: {m.status}{med}{tail}{'; ' + m.note if m.note else ''}")

    trees: dict[int, Tree] = {}
    for n in plan.sizes:
        log(f"generating a tree of {n:,} scripts (tests/treegen.py) ...")
        trees[n] = make_tree(workdir, n)
        log(f"  {trees[n].files:,} files, {len(trees[n].bad):,} bad, "
            f"{trees[n].seconds:.1f} s")
    smallest, largest = trees[min(plan.sizes)], trees[max(plan.sizes)]

    log("opsctl --help")
    record(compare("help", "opsctl --help vs python -c 'import click, rich'",
                   Command((OPSCTL, "--help"), smallest.dir),
                   Command((PYTHON, "-c", HELP_BASELINE), smallest.dir), plan.runs_help, env))

    for n in plan.sizes:
        tree = trees[n]
        log(f"opsctl lint on {n:,} scripts")
        record(compare(f"lint_{n}", f"opsctl lint, {n:,} scripts vs floor",
                       Command((OPSCTL, "lint"), tree.dir, frozenset({0, 1})),
                       Command((PYTHON, "-c", FLOOR_CODE, str(tree.root)), tree.dir),
                       plan.runs_lint[n], env, check=lint_check(tree)))

    files = largest.pick_files()
    log(f"opsctl lint {' '.join(files)} on {largest.n:,} scripts (the pre-commit case)")
    record(compare(f"lint_files_{largest.n}",
                   f"opsctl lint FILE FILE, {largest.n:,} scripts vs floor",
                   Command((OPSCTL, "lint", *files), largest.dir, frozenset({0, 1})),
                   Command((PYTHON, "-c", FLOOR_CODE, str(largest.root)), largest.dir),
                   plan.runs_files, env))

    if not plan.quick:
        files = smallest.pick_files()
        log(f"opsctl lint FILE FILE on {smallest.n:,} scripts (size independence)")
        m = compare("lint_files_small", f"opsctl lint FILE FILE, {smallest.n:,} scripts vs floor",
                    Command((OPSCTL, "lint", *files), smallest.dir, frozenset({0, 1})),
                    Command((PYTHON, "-c", FLOOR_CODE, str(smallest.root)), smallest.dir),
                    plan.runs_files, env)
        m.extra["scripts"] = smallest.n
        record(m)

    list_tree = trees.get(10_000, smallest)
    log(f"opsctl list --json on {list_tree.n:,} scripts")
    record(compare(f"list_{list_tree.n}", f"opsctl list --json, {list_tree.n:,} scripts vs floor",
                   Command((OPSCTL, "list", "--json"), list_tree.dir),
                   Command((PYTHON, "-c", FLOOR_CODE, str(list_tree.root)), list_tree.dir),
                   plan.runs_list, env, check=list_check(list_tree)))

    measure_legacy(plan, workdir, env, record)

    run_project = make_run_project(workdir)
    log("opsctl run recycle/trivial vs flask --app benchapp:create_app trivial")
    record(compare("run", "opsctl run recycle/trivial vs flask custom command",
                   Command((OPSCTL, "run", "recycle/trivial"), run_project),
                   Command((FLASK, "--app", "benchapp:create_app", "trivial"), run_project),
                   plan.runs_run, env))

    log("ledger writes of one run, in process")
    sqlite_url = f"sqlite:///{workdir / 'ledger.sqlite3'}"
    record(measure_ledger("ledger_sqlite", "ledger start+finish of one run, SQLite", sqlite_url,
                          plan.ledger_iterations))
    with PostgresDatabase(PG_SERVER) as pg:
        if pg.url is None:
            m = Measurement("ledger_postgresql", "ledger start+finish of one run, PostgreSQL",
                            Side("-"), None, "not available", f"no PostgreSQL: {pg.error}")
            record(m)
        else:
            record(measure_ledger("ledger_postgresql",
                                  "ledger start+finish of one run, PostgreSQL", pg.url,
                                  plan.ledger_iterations))

    for m in measure_run_ledgers(plan, run_project, env):
        record(m)
    scale = ScalePlan.make(plan, ledger_sizes)
    for m in measure_ledger_reads(scale, workdir, env):
        record(m)
    if "queues" not in skip:
        for m in measure_queues(plan, workdir, env):
            record(m)
    batches = _batches_bench()
    rows = batches.rows_for(plan.quick, batch_rows)
    if "batches" not in skip:
        for m in batches.measure(sys.modules[__name__], workdir, env, rows=rows,
                                 runs=plan.runs_batches, iterations=plan.ledger_iterations):
            record(m)

    targets = evaluate(ms, plan.sizes, plan.quick, tuple(plan.legacy))
    targets += run_ledger_targets(ms, plan.quick) + ledger_read_targets(ms, scale)
    targets += queue_targets(ms)
    targets += batches.targets(sys.modules[__name__], ms, plan.quick)
    return {
        "load_average": {"start": load_start, "end": _load()},
        "mode": "quick" if plan.quick else "full",
        "date": _dt.datetime.now().isoformat(timespec="seconds"),
        "machine": {"python": sys.version.split()[0], "executable": PYTHON,
                    "platform": platform.platform(), "cpus": os.cpu_count()},
        "tree_generator": "tests/treegen.py generate_tree(root, n, bad_ratio=0.05, seed=0); "
                          "legacy trees with **LEGACY (shared_share=0.2, stale_share=0.8)",
        "trees": {str(n): {"scripts": n, "files": t.files, "bad": len(t.bad),
                           "generate_s": round(t.seconds, 2)} for n, t in trees.items()},
        "duration_s": round(time.perf_counter() - started, 1),
        "measurements": [m.as_dict() for m in ms.values()],
        "targets": [asdict(t) | {"verdict": t.verdict} for t in targets],
        "_objects": (list(ms.values()), targets),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.bench", description=__doc__.split(
        "\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true",
                        help="one 1,000-script tree and fewer runs; reports, never fails")
    parser.add_argument("--json", metavar="FILE", type=Path, help="also write results as JSON")
    parser.add_argument("--runs", type=int, help="runs per measurement (overrides the plan)")
    parser.add_argument("--size", type=int, help="quick mode: scripts in the tree (default 1000)")
    parser.add_argument("--keep", action="store_true", help="keep the generated trees")
    parser.add_argument("--ledger-sizes", metavar="N,N", type=lambda v: [
        int(n) for n in v.split(",")], help="runs in the ledgers history and list read "
        "(default 1000,100000,1000000; quick: 1000,100000)")
    _batches_bench().add_arguments(parser)
    parser.add_argument("--skip", metavar="LINE,LINE", default=[], type=lambda v: [
        line for line in v.split(",") if line], help="leave out these lines (their targets "
        f"say not measured): {', '.join(SKIPPABLE)}")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.skip) - set(SKIPPABLE))
    if unknown:
        parser.error(f"--skip: no line {', '.join(unknown)} (choose from "
                     f"{', '.join(SKIPPABLE)})")
    plan = Plan.make(args.quick, args.runs, args.size)
    started = time.perf_counter()
    workdir = Path(tempfile.mkdtemp(prefix="opsctl-bench-"))
    try:
        result = run_benchmark(plan, workdir, args.ledger_sizes, args.batch_rows, args.skip)
    finally:
        if args.keep:
            log(f"trees kept in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    result["total_s"] = round(time.perf_counter() - started, 1)
    measurements, targets = result.pop("_objects")
    print()
    print(f"opsctl benchmark ({result['mode']}), {result['date']}, Python "
          f"{result['machine']['python']}, {result['machine']['cpus']} CPUs, "
          f"{result['total_s']} s in all, load average {result['load_average']['start']} -> "
          f"{result['load_average']['end']}")
    print()
    print(measurements_table(measurements))
    print()
    print(targets_table(targets))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
        log(f"\nwrote {args.json}")
    missed = [t for t in targets if t.required and t.holds is not True]
    if plan.quick or not missed:
        return 0
    log(f"\n{len(missed)} target(s) not met or not measured")
    return 1


if __name__ == "__main__":
    sys.exit(main())
