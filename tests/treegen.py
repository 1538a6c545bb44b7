"""A deterministic offline-script tree with planted bad names, for lint tests and the benchmark.

``generate_tree(root, n)`` writes about ``n`` scripts under ``root`` (the offline-script root):
recycle/ and unrecycle/ scripts with real content, and temporary scripts spread over developer
folders. About ``bad_ratio`` of them are replaced by planted mistakes of every kind the lint
knows; the function returns the root-relative paths the lint must report, and the lint must
report nothing else.

Two shapes. The *easy* one (the default) is a young, tidy tree: at most 50 scripts in each of
recycle/ and unrecycle/, every good temporary script from the last 80 days. The *legacy* one
(``shared_share=0.2, stale_share=0.8``: :data:`LEGACY`) is what years of use leave: a fifth of
the scripts in recycle/ and unrecycle/, whose content the lint reads, and most temporary
scripts years old, so stale.

Only the standard library is used, so the benchmark can import it outside pytest. The same
``seed`` and ``today`` give the same tree byte for byte.
"""

from __future__ import annotations

import datetime as _dt
import random
from collections.abc import Callable
from pathlib import Path

# Words chosen so that no generated name ends in a status word or a number, and no two names
# differ only by a suffix: a good name in this tree is good by construction.
VERBS = ("export", "import", "flush", "clear", "sync", "rebuild", "backfill", "repair",
         "recount", "reindex", "archive", "merge", "split", "notify", "refund", "verify",
         "migrate", "dedupe", "purge", "resend")
NOUNS = ("order", "customer", "calendar", "invoice", "coupon", "payment", "shipment",
         "refund", "cart", "review", "product", "price", "stock", "address", "voucher",
         "session", "token", "report", "ledger", "account", "campaign", "partner", "store",
         "warehouse", "driver", "route", "ticket", "member", "points", "badge")
QUALIFIERS = ("data", "ids", "names", "totals", "status", "cache", "rows", "emails", "counts",
              "flags", "dates", "links", "images", "tags", "notes", "labels", "owners",
              "periods", "ranks", "scores", "limits", "quotas", "codes", "slots", "batches",
              "groups", "regions", "zones", "levels", "rates")
SYLLABLES = ("yu", "zao", "yah", "li", "wei", "zhang", "san", "wang", "fang", "chen", "jie",
             "liu", "yang", "huang", "zhao", "xin", "zhou", "min", "wu", "hao", "sun", "lei",
             "ma", "lin", "hu", "gang", "guo", "qiang", "he", "ping")

#: Nouns a number after them names (ticket 6573), so a number there is no copy mark.
COUNTED_NOUNS = ("_ticket",)
STATUS_WORDS = ("error", "bak", "old", "tmp", "copy", "fixed", "final", "new", "backup",
                "draft", "wip", "orig")
IMPOSSIBLE_DATES = ("2023_02_29", "2024_04_31", "2024_13_01", "2024_00_10", "2024_06_00",
                    "2025_02_30", "2024_09_31", "2022_11_31")

SHARED_SOURCE = '''"""{description}"""

from __future__ import annotations

import logging

import click

log = logging.getLogger(__name__)


@click.command()
@click.option("--limit", type=int, default=None)
def main(limit: int | None) -> None:
    """{description}"""
    log.info("done, limit=%s", limit)


if __name__ == "__main__":
    main()
'''

TEMPORARY_SOURCE = '''"""{description}"""


def main() -> None:
    print("{name}")
'''


#: The legacy shape's arguments to :func:`generate_tree`.
LEGACY = {"shared_share": 0.2, "stale_share": 0.8}

#: Second words for a tree with thousands of shared scripts: the 30 nouns and every pair of
#: them joined (``ordercustomer``), so three-word purposes stay unique and never near-twins.
MANY_NOUNS = NOUNS + tuple(a + b for a in NOUNS for b in NOUNS if a != b)


class _Tree:
    """The state of one generation: used names, the planted set, the random source."""

    def __init__(self, root: Path, rng: random.Random, today: _dt.date) -> None:
        self.root = root
        self.rng = rng
        self.today = today
        self.nouns = NOUNS  # the purposes' second words: MANY_NOUNS for thousands of them
        self.bad: set[str] = set()
        self.stale: set[str] = set()  # planted stale scripts (a part of bad)
        self.used: set[str] = set()  # root-relative paths already written
        self.shared_purposes: set[str] = set()  # purpose keys in recycle/ and unrecycle/
        self.recycle_names: list[str] = []  # good recycle stems, for planted copies
        self.developers: list[str] = []
        self.counter = 0

    # -- writing ---------------------------------------------------------------------------

    def write(self, rel: str, content: str | bytes) -> None:
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        data = content.encode("utf-8") if isinstance(content, str) else content
        with open(path, "wb") as fh:
            fh.write(data)
        self.used.add(rel)

    def shared(self, folder: str, stem: str, content: str | bytes | None = None) -> str:
        rel = f"{folder}/{stem}.py"
        description = f"{stem.replace('_', ' ').capitalize()}."
        self.write(rel, SHARED_SOURCE.format(description=description) if content is None
                   else content)
        return rel

    def temporary(self, developer: str, filename: str) -> str:
        rel = f"{developer}/{filename}"
        self.write(rel, TEMPORARY_SOURCE.format(description="Scratch work.", name=filename))
        return rel

    # -- names -----------------------------------------------------------------------------

    def purpose(self) -> str:
        """A fresh three-word purpose not used by any shared script yet."""
        while True:
            name = "_".join((self.rng.choice(VERBS), self.rng.choice(self.nouns),
                             self.rng.choice(QUALIFIERS)))
            if name not in self.shared_purposes:
                self.shared_purposes.add(name)
                return name

    def recent(self) -> _dt.date:
        """A date in the last 80 days: never stale (stale_days defaults to 90), never future."""
        return self.today - _dt.timedelta(days=self.rng.randint(1, 80))

    def fresh_temporary(self, developer: str, make: Callable[[], str]) -> str:
        """Write ``developer/<make()>``, retrying until the name is unused."""
        while True:
            filename = make()
            if f"{developer}/{filename}" not in self.used:
                return self.temporary(developer, filename)

    def good_temporary(self, developer: str) -> str:
        def make() -> str:
            what = "_".join((self.rng.choice(VERBS), self.rng.choice(NOUNS),
                             self.rng.choice(QUALIFIERS)))
            return f"ts_{self.recent():%Y_%m_%d}_{what}.py"
        return self.fresh_temporary(developer, make)

    def what(self) -> str:
        return f"{self.rng.choice(VERBS)}_{self.rng.choice(NOUNS)}"

    def unique(self) -> int:
        self.counter += 1
        return self.counter


def _developer_names(rng: random.Random, count: int) -> list[str]:
    names: list[str] = ["yuzaoyah"]
    seen = set(names)
    while len(names) < count:
        name = "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 3)))
        if name not in seen:
            seen.add(name)
            names.append(name)
    return names[:count]


# -- planted mistakes: each writes its files and records the paths the lint must report ----

def _plant_impossible_date(t: _Tree) -> None:
    dev = t.rng.choice(t.developers)
    t.bad.add(t.fresh_temporary(dev, lambda: f"ts_{t.rng.choice(IMPOSSIBLE_DATES)}_{t.what()}"
                                             f"_{t.rng.choice(QUALIFIERS)}.py"))


def _plant_future_date(t: _Tree) -> None:
    dev = t.rng.choice(t.developers)

    def make() -> str:
        day = _dt.date(t.rng.randint(2990, 2999), t.rng.randint(1, 12), t.rng.randint(1, 28))
        return f"ts_{day:%Y_%m_%d}_{t.what()}_{t.rng.choice(QUALIFIERS)}.py"
    t.bad.add(t.fresh_temporary(dev, make))


def _plant_numeric_suffix(t: _Tree) -> None:
    dev = t.rng.choice(t.developers)

    def make() -> str:
        what = t.what()
        while what.endswith(COUNTED_NOUNS):  # verify_ticket_6573 names ticket 6573: a purpose
            what = t.what()
        return f"ts_{t.recent():%Y_%m_%d}_{what}_{t.rng.choice((2, 3, 6573, 10))}.py"
    t.bad.add(t.fresh_temporary(dev, make))


def _plant_date_suffix(t: _Tree) -> None:
    dev = t.rng.choice(t.developers)
    t.bad.add(t.fresh_temporary(
        dev, lambda: f"ts_{t.recent():%Y_%m_%d}_{t.what()}_{t.recent():%m_%d}.py"))


def _plant_status_suffix(t: _Tree) -> None:
    dev = t.rng.choice(t.developers)
    t.bad.add(t.fresh_temporary(
        dev, lambda: f"ts_{t.recent():%Y_%m_%d}_{t.what()}_{t.rng.choice(STATUS_WORDS)}.py"))


def _plant_unpadded_date(t: _Tree) -> None:
    dev = t.rng.choice(t.developers)

    def make() -> str:
        day = t.recent()
        while day.month >= 10 and day.day >= 10:  # nothing to pad: pick another day
            day = t.recent()
        return f"ts_{day.year}_{day.month}_{day.day}_{t.what()}_{t.rng.choice(QUALIFIERS)}.py"
    t.bad.add(t.fresh_temporary(dev, make))


def _plant_separators(t: _Tree) -> None:
    dev = t.rng.choice(t.developers)
    t.bad.add(t.fresh_temporary(
        dev, lambda: f"ts_{t.recent():%Y_%m_%d}_{t.rng.choice(VERBS).capitalize()}-"
                     f"{t.rng.choice(NOUNS).capitalize()}.py"))


def _plant_no_prefix(t: _Tree) -> None:
    dev = t.rng.choice(t.developers)
    t.bad.add(t.fresh_temporary(dev, lambda: f"{t.what()}_{t.rng.choice(QUALIFIERS)}.py"))


def _plant_odd_name(t: _Tree) -> None:
    dev = t.rng.choice(t.developers)
    odd = t.rng.choice(("space", "unicode", "bytes", "dash"))
    day = f"{t.recent():%Y_%m_%d}"
    n = t.unique()
    filename = {
        "space": f"ts_{day}_export order {n}.py",
        "unicode": f"ts_{day}_导出订单_{'abcdefghij'[n % 10]}{n}x.py",
        # An undecodable byte, as os.fsdecode presents it (a lone surrogate).
        "bytes": f"ts_{day}_export_\udcff{n}.py",
        "dash": f"-ts_{day}_export_{n}x.py",
    }[odd]
    try:
        t.bad.add(t.temporary(dev, filename))
    except (OSError, UnicodeEncodeError):  # a filesystem that refuses such names
        t.bad.add(t.temporary(dev, f"ts_{day}_Odd_Name_{n}x.py"))


def _plant_not_a_script(t: _Tree) -> None:
    dev = t.rng.choice(t.developers)
    n = t.unique()
    filename = t.rng.choice((f"notes_{n}.txt", f"dump_{n}.sql", f"ts_2025_01_01_x{n}y.py.orig",
                             f"orders_{n}.csv"))
    rel = f"{dev}/{filename}"
    t.write(rel, "not a script\n")
    t.bad.add(rel)


def _plant_nested_folder(t: _Tree) -> None:
    folder = t.rng.choice([*t.developers, "recycle", "unrecycle"])
    rel = f"{folder}/archive{t.unique()}x"
    t.write(f"{rel}/ts_2025_01_01_inside.py", TEMPORARY_SOURCE.format(description="x", name="x"))
    t.bad.add(rel)


def _plant_stale(t: _Tree, dev: str | None = None) -> None:
    dev = dev or t.rng.choice(t.developers)

    def make() -> str:
        day = t.today - _dt.timedelta(days=t.rng.randint(200, 2000))
        return f"ts_{day:%Y_%m_%d}_{t.what()}_{t.rng.choice(QUALIFIERS)}.py"
    path = t.fresh_temporary(dev, make)
    t.bad.add(path)
    t.stale.add(path)


def _plant_suffixed_copy(t: _Tree) -> None:
    """``recycle/export_order_data_6573.py`` beside ``recycle/export_order_data.py``: the copy
    is reported (its name, and the duplicate), never the original."""
    base = t.shared("recycle", t.purpose())
    stem = base[len("recycle/"):-3]
    suffix = t.rng.choice(("6573", "2024_06_10", "05_10_error", "bak", "old", "final", "2",
                           "v4", "copy2", "latest", "jun10"))
    t.bad.add(t.shared("recycle", f"{stem}_{suffix}"))


def _plant_copy_of_earlier(t: _Tree) -> None:
    """``ts_..._resend_error.py`` beside the same developer's ``ts_..._resend.py``: a word that
    could be the purpose, proved a copy by the earlier script."""
    dev = t.rng.choice(t.developers)
    verb, word = t.rng.choice(VERBS), t.rng.choice(("temp", "draft", "error", "backup", "new"))
    t.fresh_temporary(dev, lambda: f"ts_{t.recent():%Y_%m_%d}_{verb}.py")
    t.bad.add(t.fresh_temporary(dev, lambda: f"ts_{t.recent():%Y_%m_%d}_{verb}_{word}.py"))


def _plant_ancient_date(t: _Tree) -> None:
    """A calendar date no script was written on: before 2000 (the default date floor)."""
    dev = t.rng.choice(t.developers)
    t.bad.add(t.fresh_temporary(dev, lambda: f"ts_{t.rng.choice(('0001', '1970', '1999'))}_01_01_"
                                             f"{t.what()}_{t.rng.choice(QUALIFIERS)}.py"))


def _plant_non_person_folder(t: _Tree) -> None:
    folder = t.rng.choice(("backup", "old_scripts", "tmp", "common", "misc_scripts"))
    if folder in t.developers or (t.root / folder).exists():
        folder = f"{folder}_old"
    t.good_temporary(folder)
    t.bad.add(folder)


def _plant_suffix_alone(t: _Tree) -> None:
    folder = t.rng.choice(("recycle", "unrecycle"))
    t.bad.add(t.shared(folder, f"{t.purpose()}_{t.rng.choice(STATUS_WORDS)}"))


def _plant_ts_in_recycle(t: _Tree) -> None:
    t.bad.add(t.shared("recycle", f"ts_{t.recent():%Y_%m_%d}_{t.purpose()}"))


def _plant_dotted(t: _Tree) -> None:
    t.bad.add(t.shared("recycle", f"{t.purpose()}.v{t.rng.randint(2, 9)}"))


def _plant_same_in_both(t: _Tree) -> None:
    stem = t.purpose()
    t.bad.update({t.shared("recycle", stem), t.shared("unrecycle", stem)})


def _plant_case_twin(t: _Tree) -> None:
    stem = t.purpose()
    twin = "_".join(w.capitalize() for w in stem.split("_"))
    t.shared("recycle", stem)  # the original: the twin is the one reported
    t.bad.add(t.shared("recycle", twin))


def _plant_camel(t: _Tree) -> None:
    stem = t.purpose()
    t.bad.add(t.shared("unrecycle", "".join(w.capitalize() for w in stem.split("_"))))


def _plant_no_docstring(t: _Tree) -> None:
    source = SHARED_SOURCE.format(description="Export.").split('"""', 2)[2].lstrip()
    t.bad.add(t.shared(t.rng.choice(("recycle", "unrecycle")), t.purpose(), source))


def _plant_side_effect(t: _Tree) -> None:
    body = t.rng.choice(("main()\n", "for _ in range(3):\n    print(_)\n",
                         "with open(__file__) as fh:\n    fh.read()\n",
                         "print('imported')\n"))
    guard = '\n\nif __name__ == "__main__":\n    main()\n'
    source = SHARED_SOURCE.format(description="Export.").replace(guard, "\n" + body)
    t.bad.add(t.shared(t.rng.choice(("recycle", "unrecycle")), t.purpose(), source))


def _plant_unreadable(t: _Tree) -> None:
    content = t.rng.choice((b"\x00\x01\x02binary\xff", '"""Export.""" \n'.encode("utf-16"),
                            b'"""Caf\xe9 export."""\n', b'"""Broken."""\ndef main(:\n'))
    t.bad.add(t.shared("recycle", t.purpose(), content))


def _plant_shared_not_a_script(t: _Tree) -> None:
    rel = f"{t.rng.choice(('recycle', 'unrecycle'))}/{t.purpose()}.{t.rng.choice(('csv', 'sh'))}"
    t.write(rel, "x\n")
    t.bad.add(rel)


def _plant_file_in_root(t: _Tree) -> None:
    rel = f"{t.purpose()}.py"
    t.write(rel, '"""Lost."""\n')
    t.bad.add(rel)


def _plant_bad_developer(t: _Tree) -> None:
    n = t.unique()
    folder = t.rng.choice((f"Li-Wei{n}", f"zhang san{n}", f"{n}dev", f"Wang{n}"))
    for _ in range(t.rng.randint(1, 3)):
        t.good_temporary(folder)
    t.bad.add(folder)


TEMPORARY_MISTAKES: tuple[Callable[[_Tree], None], ...] = (
    _plant_impossible_date, _plant_future_date, _plant_numeric_suffix, _plant_date_suffix,
    _plant_status_suffix, _plant_unpadded_date, _plant_separators, _plant_no_prefix,
    _plant_odd_name, _plant_not_a_script, _plant_stale, _plant_copy_of_earlier,
    _plant_ancient_date,
)
SHARED_MISTAKES: tuple[Callable[[_Tree], None], ...] = (
    _plant_suffixed_copy, _plant_suffix_alone, _plant_ts_in_recycle, _plant_dotted,
    _plant_same_in_both, _plant_case_twin, _plant_camel, _plant_no_docstring,
    _plant_side_effect, _plant_unreadable, _plant_shared_not_a_script, _plant_nested_folder,
    _plant_file_in_root, _plant_bad_developer, _plant_non_person_folder,
)


class Planted(set[str]):
    """The planted bad paths, and which of them are stale (:func:`reported`)."""

    stale: frozenset[str] = frozenset()


def generate_tree(root: Path, n: int, bad_ratio: float = 0.05, seed: int = 0, *,
                  today: _dt.date | None = None, shared_share: float | None = None,
                  stale_share: float = 0.0) -> Planted:
    """Write about ``n`` scripts under ``root``; return the root-relative paths planted bad.

    A path in the result is a file, or a folder for the layout and developer-folder mistakes.
    Stale scripts are planted too (a warning); every other good temporary script is younger
    than 90 days relative to ``today``, so a default configuration reports exactly the result.

    ``shared_share`` is the share of the scripts in recycle/ and unrecycle/ (half in each;
    by default 0.05% each, at most 50); ``stale_share`` the share of the good temporary
    scripts written 200 to 2,000 days before ``today`` instead (planted stale, so in the
    result).
    """
    rng = random.Random(seed)
    t = _Tree(root, rng, today or _dt.date.today())
    root.mkdir(parents=True, exist_ok=True)
    (root / "README.md").write_text("# Offline scripts\n", encoding="utf-8")

    n_bad = round(n * bad_ratio)
    # Most mistakes are temporary names, as most of a tree is; one in a hundred is in recycle/,
    # unrecycle/ or the layout. The first round plants every kind once, so even a small tree
    # covers all of them.
    plan: list[Callable[[_Tree], None]] = [*SHARED_MISTAKES, *TEMPORARY_MISTAKES][:n_bad]
    for i in range(len(plan), n_bad):
        kinds = SHARED_MISTAKES if i % 100 == 0 else TEMPORARY_MISTAKES
        plan.append(kinds[(i // 100 if i % 100 == 0 else i) % len(kinds)])

    # recycle/ stays small by convention (extend a script rather than add one): 0.05% of the
    # tree in each shared folder, at most 50, while temporary scripts are the bulk.
    n_shared = max(3, min(n // 2000, 50)) if shared_share is None else \
        max(3, round(n * shared_share / 2))
    if n_shared > 200:
        t.nouns = MANY_NOUNS
    t.developers = _developer_names(rng, max(2, min(n // 2000, 200)))
    for folder in ("recycle", "unrecycle"):
        (root / folder).mkdir(exist_ok=True)
        for _ in range(n_shared):
            name = t.shared(folder, t.purpose())
            if folder == "recycle":
                t.recycle_names.append(name)

    for plant in plan:
        plant(t)
    n_temporary = max(0, n - 2 * n_shared - n_bad)
    for i in range(n_temporary):
        developer = t.developers[i % len(t.developers)]
        if stale_share and t.rng.random() < stale_share:
            _plant_stale(t, developer)
        else:
            t.good_temporary(developer)
    planted = Planted(t.bad)
    planted.stale = frozenset(t.stale)
    return planted


def reported(planted: Planted) -> set[str]:
    """The paths a default lint reports for ``planted``: the stale scripts summarised in one
    finding, at the oldest."""
    oldest = min(planted.stale, key=lambda p: (p.split("/", 1)[1][3:13], p)) \
        if planted.stale else None
    return (planted - planted.stale) | ({oldest} if oldest else set())


if __name__ == "__main__":  # pragma: no cover - a convenience for the benchmark and by hand
    import sys

    target = Path(sys.argv[1])
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 10_000
    shape = LEGACY if sys.argv[3:4] == ["legacy"] else {}
    planted = generate_tree(target, count, **shape)  # type: ignore[arg-type]
    print(f"{count} scripts under {target}, {len(planted)} planted bad paths", file=sys.stderr)
