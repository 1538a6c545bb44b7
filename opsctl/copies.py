"""Copy marks: what in a name says which copy, version, date or state of a script it is
(``_2``, ``_2024_06_10``, ``_jun10``, ``_v4``, ``_copy2``, ``_old``, ``copy_of_``) rather
than what the script does, and how sure a name alone can be of it. A mark is weighed in its
place in the name:

- *sure*: a number or date at the end, a version tail, a copy word, a state word with a
  number (``_final2``) or after what the script works on (``export_orders_latest``),
  ``copy_of_``, ``old_`` before a whole purpose (``old_export_orders``);
- *doubt*: a state word right after a verb, maybe its object (``clear_temp``): a warning;
- *quiet*: a state word a verb right before it takes as its object far more often than not
  (``retry_failed``, ``resend_error``): nothing;
- *purpose*: a mark word of the purpose: after a preposition (``migrate_to_v2``), a number a
  word counts (``export_top_100``, ``fix_issue_1234``), a compound (``run_ab_test``).

Whatever the level but purpose, a name is a copy when a sibling is named like it without its
marks (:mod:`opsctl.naming` asks for that evidence). Only names are read here.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from functools import lru_cache

from .errors import ConfigError
from .light import NamedTuple

SURE, DOUBT, QUIET, PURPOSE = 3, 2, 1, 0


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


#: Words that name a copy of a script (``_bak``, ``_fuben``: 副本). Sure, unless right after a
#: verb (``make_copy``).
COPY_WORDS = ("copy", "bak", "bk", "orig", "original", "dup", "cp", "fuben")
#: Words that name a state or a version of a script; sure after what the script works on,
#: in doubt after a verb. English, then pinyin (旧 新 备份 最新 临时 测试 修改 最终 正式 草稿
#: 完成 失败 废弃 改 暂时).
STATE_WORDS = (
    "old", "new", "tmp", "temp", "test", "draft", "wip", "final", "fixed", "fix", "latest",
    "done", "failed", "deprecated", "legacy", "updated", "backup", "error", "err", "again",
    "modified", "revised", "edited", "obsolete", "unused", "prev", "previous", "current",
    "hotfix", "patched", "debug", "working", "redo",
    "jiu", "xin", "beifen", "zuixin", "linshi", "ceshi", "xiugai", "zuizhong", "zhengshi",
    "caogao", "wancheng", "shibai", "feiqi", "gai", "zanshi",
)
DEFAULT_STATUS_SUFFIXES: tuple[str, ...] = COPY_WORDS + STATE_WORDS
#: State words that a verb right before them takes as its object far more often than they mark
#: a copy (retry_failed, fetch_latest, purge_old, resend_error): there they are quiet, and only
#: a sibling named without them makes them a copy. The other state words stay in doubt after
#: a verb (clear_temp, export_draft): a warning.
OBJECT_WORDS = frozenset((
    "old", "new", "latest", "failed", "deprecated", "legacy", "updated", "done", "error", "err",
    "backup", "unused", "obsolete", "prev", "previous", "current",
    "jiu", "xin", "zuixin", "shibai", "feiqi", "wancheng", "beifen",
))

#: Verbs a script name starts its purpose with: a state word right after one may be its object.
VERBS = _words("""
    add adjust aggregate alert align allocate analyse analyze anonymise anonymize apply approve
    archive assign attach audit backfill backup ban bill bind block build bump calc calculate
    cancel cap charge check clean cleanup clear close collect compare compress compute convert copy
    correct count crawl create credit cut deactivate debit decrypt dedupe deduct delete detach diff
    disable download drain drop dump email enable encrypt enqueue ensure estimate evict expire
    export extend extract fetch fill filter find fix flag flush freeze gen generate get grant
    handle hash import index init insert inspect invalidate invite issue join kill link list load
    lock log mail make map mark mask match merge migrate monitor move normalise normalize notify
    nullify open parse patch pause pay persist ping poll populate prepare print process promote
    prune publish pull purge push put rank read rebuild recalc recalculate recompute reconcile
    recount recover redo refill refresh refund regenerate reindex reject reload remove rename
    render reopen repair replay report reprocess republish requeue rerun resend reset resolve
    restart restore resume retry revert revoke rewrite rollback rotate run save scan schedule score
    scrape search seed send set settle show shrink sign snapshot sort split start stop store strip
    submit subscribe summarise summarize switch sync tag test trace track train transfer transform
    trigger trim truncate unban unblock undo unfreeze unlink unlock unpublish unsubscribe update
    upgrade upload upsert validate verify view void warm watch wipe write zero
    daochu daoru qingli qingchu shanchu xiufu tongbu gengxin shuaxin chongzhi jisuan tongji fasong
    chongfa huifu qianyi hebing chaifen jiaoyan tuikuan chuli shengcheng chaxun jiancha guidang
    tuisong tongzhi quxiao dongjie jiedong buchong chongpao chongshi xiugai shangchuan xiazai
    baocun daoshu
""")
#: Words after which a mark word is the object of a preposition (``migrate_to_v2``).
PREPOSITIONS = _words("to from as into onto for with without by of in on at than per via vs after "
                      "before since until till over under above below within upto")
#: Words a number counts or names (``export_top_100``, ``fix_issue_1234``): the number is data.
COUNTED = _words("top first last next limit max min every each page batch chunk size older newer "
                 "issue ticket bug pr jira case incident qian")
#: Things with versions of their own (``call_api_v2``).
VERSIONED = _words("api apis schema protocol proto sdk spec python py php java node ios android "
                   "oauth tls ssl http grpc")
#: State words that make a compound with the word before them (``run_ab_test``).
COMPOUNDS: dict[str, frozenset[str]] = {
    "test": _words("ab load smoke stress perf unit integration e2e regression canary speed "
                   "pressure acceptance sanity health"),
    "backup": _words("db database full daily nightly weekly incremental shujuku"),
}
#: Words that, first in a name and before a whole purpose, mark it a copy (``old_export``).
PREFIX_WORDS = ("old", "new", "tmp", "temp", "bak", "backup", "copy", "draft", "wip", "test")

#: Month abbreviations, the only ones a date may end in (``_10jun``); a full name comes first
#: (``_june10``). The lint's fast match excludes exactly these endings.
SHORT_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "sept", "oct",
                "nov", "dec")
MONTHS = frozenset(SHORT_MONTHS + ("january", "february", "march", "april", "june", "july",
                                   "august", "september", "october", "november", "december"))
_MONTH_ENDS = frozenset(m[-3:] for m in SHORT_MONTHS)
_VERSIONS = ("version", "ver", "v")


@lru_cache(maxsize=1)
def _month_date() -> re.Pattern[str]:  # compiled when a name first ends like a month
    return re.compile(rf"(?:[0-9]{{1,4}}(?:{'|'.join(SHORT_MONTHS)})[0-9]{{0,4}}|"
                      rf"(?:{'|'.join(MONTHS)})[0-9]{{1,4}})")
#: What ``status_suffixes`` of ``[tool.opsctl.lint]`` must be; its errors say so.
STATUS_SUFFIXES_TYPE = "a list of lowercase words"


class Mark(NamedTuple):
    """One mark at the end (or the start) of a name, and what the name is without it."""

    kind: str  # numeric, date, version or status
    text: str  # as written: "6573", "05_10", "v4", "copy2", "old", "copy_of"
    base: str  # the name without this mark (and the marks after it)
    level: int  # SURE, DOUBT, QUIET or PURPOSE
    #: The word before the mark that decided its level (the verb of a doubtful one).
    before: str = ""
    prefix: bool = False


class CopyMarks:
    """The copy marks of one configuration: the built-in words weighed in their place, or the
    team's own ``status_suffixes``, each a sure mark."""

    def __init__(self, status_suffixes: Iterable[str] = DEFAULT_STATUS_SUFFIXES) -> None:
        self.status_suffixes = tuple(status_suffixes)
        self.builtin = self.status_suffixes == DEFAULT_STATUS_SUFFIXES
        words = set(self.status_suffixes)
        self._copy_words = frozenset(COPY_WORDS) if self.builtin else frozenset()
        self._state_words = frozenset(STATE_WORDS) if self.builtin else frozenset()
        #: Configured words, longest first: a word may be several (``do_not_use``).
        self._own_words = () if self.builtin else tuple(sorted(words, key=len, reverse=True))
        self._single_words = frozenset(w for w in words if "_" not in w)
        self._seen: dict[str, tuple[Mark, ...]] = {}  # a name is weighed once per lint
        self._prefix_words = frozenset(PREFIX_WORDS) if self.builtin else frozenset()

    def marks(self, name: str) -> tuple[Mark, ...]:
        """The marks of a snake_case ``name``, outermost first; a prefix mark comes last.

        At least one purpose word is always kept, so ``new_orders`` has no mark and a lone
        ``old`` is not one; nor is a number when only numbers would be left.
        """
        found = self._seen.get(name)
        if found is None:
            found = self._seen[name] = self._marks(name)
        return found

    def _marks(self, name: str) -> tuple[Mark, ...]:
        tokens = name.split("_")
        found: list[Mark] = []
        end = len(tokens)
        while end > 1:
            mark = self._last_mark(tokens, end)
            if mark is None:
                break
            found.append(mark)
            end = len(mark.base.split("_"))
        prefix = self._prefix_mark(tokens[:end])
        if prefix is not None:
            found.append(prefix)
        return tuple(found)

    def _last_mark(self, tokens: list[str], end: int) -> Mark | None:
        """The mark ending at ``tokens[end - 1]``, or None."""
        last = tokens[end - 1]
        if not last[-1:].isdigit() and last not in self._single_words and \
                not self._own_words and last[-3:] not in _MONTH_ENDS:
            return None  # the common case, a word of the purpose: no test below can match
        for word in self._own_words:
            size = word.count("_") + 1
            if end > size and "_".join(tokens[end - size:end]) == word:
                return self._mark("status", tokens, end - size, end, SURE)
        if last.isdigit():
            start = end - 1
            while start > 1 and tokens[start - 1].isdigit():
                start -= 1
            if start > 1 and tokens[start - 1] in MONTHS:
                start -= 1
            if start == 0 or all(t.isdigit() for t in tokens[:start]):
                return None  # only numbers would be left: they are the name
            run = tokens[start:end]
            kind = "date" if len(run) > 1 or len(last) == 8 else "numeric"
            before = tokens[start - 1]
            # A number a word counts or names (top_100, issue_1234) is data; a date is not.
            level = PURPOSE if before in PREPOSITIONS or (
                kind == "numeric" and before in COUNTED) else SURE
            return self._mark(kind, tokens, start, end, level)
        before = tokens[end - 2]
        if last[-1].isdigit() and any(last.startswith(v) and last[len(v):].isdigit()
                                      for v in _VERSIONS):
            level = PURPOSE if before in PREPOSITIONS or before in VERSIONED else SURE
            return self._mark("version", tokens, end - 1, end, level)
        if _month_date().fullmatch(last):
            return self._mark("date", tokens, end - 1, end, SURE)
        if last[-1].isdigit() and last.rstrip("0123456789") in self._single_words:
            return self._mark("status", tokens, end - 1, end, SURE)  # copy2, final2
        # A verb right before the word may take it as its object (clear_temp); a verb after
        # another verb is its object itself (export_refund_old: refund is a noun there).
        acted_on = before in VERBS and (end == 2 or tokens[end - 3] not in VERBS)
        if last in self._copy_words:
            return self._mark("status", tokens, end - 1, end, DOUBT if acted_on else SURE)
        if last in self._state_words:
            if before in PREPOSITIONS or before in COMPOUNDS.get(last, ()):
                level = PURPOSE
            elif acted_on:
                level = QUIET if last in OBJECT_WORDS else DOUBT
            else:
                level = SURE
            return self._mark("status", tokens, end - 1, end, level)
        return None

    @staticmethod
    def _mark(kind: str, tokens: list[str], start: int, end: int, level: int) -> Mark:
        return Mark(kind, "_".join(tokens[start:end]), "_".join(tokens[:start]), level,
                    tokens[start - 1])

    def _prefix_mark(self, tokens: list[str]) -> Mark | None:
        """``copy_of_x``, or a copy word before a whole purpose (``old_export_orders``)."""
        if len(tokens) > 2 and tokens[0] == "copy" and tokens[1] == "of":
            return Mark("status", "copy_of", "_".join(tokens[2:]), SURE, "", prefix=True)
        if len(tokens) > 1 and tokens[0] in self._prefix_words and tokens[1] in VERBS:
            level = DOUBT if tokens[0] == "test" else SURE
            return Mark("status", tokens[0], "_".join(tokens[1:]), level, tokens[1],
                        prefix=True)
        return None

    def purpose_key(self, name: str) -> str:
        """``name`` without the copy marks at its end (up to a word of the purpose, such as
        the number of ``export_top_100``) and a copy prefix: what its copies have in common."""
        key, trailing = name, True
        for mark in self.marks(name):
            if mark.prefix:
                if key.startswith(f"{mark.text}_"):
                    key = key[len(mark.text) + 1:]
            elif trailing and mark.level != PURPOSE:
                key = mark.base
            else:
                trailing = False
        return key


class Verdict(NamedTuple):
    """A name is a copy (SURE) or may be (DOUBT): the ``mark`` that says so (trailing marks
    from one on, or a prefix), and the sibling that proves it, if one does."""

    level: int
    mark: Mark
    original: str | None = None


def judge(copies: CopyMarks, name: str, original: Callable[[str], str | None] | None = None,
          *, sure_alone: bool = False) -> Verdict | None:
    """Weigh ``name``'s marks against the evidence: ``original(base)`` names the sibling a
    name would be a copy of, or None. With ``sure_alone``, a name sure on its own is not
    weighed against its siblings (the finding is the same, its message names no original)."""
    found = copies.marks(name)
    if not found:
        return None
    level = max(m.level for m in found)
    if original is not None and not (sure_alone and level == SURE):
        for mark in found:
            if mark.level == PURPOSE:
                continue  # a word of the purpose: no sibling makes it a copy mark
            path = original(mark.base)
            if path is not None:
                return Verdict(SURE, _span(name, found, mark), path)
    if level <= QUIET:
        return None
    trailing = [m for m in found if not m.prefix and m.level == level]
    chosen = trailing[-1] if trailing else next(m for m in found if m.level == level)
    return Verdict(level, _span(name, found, chosen))


def _span(name: str, found: tuple[Mark, ...], mark: Mark) -> Mark:
    """``mark`` stretched over the trailing marks after it (``x_05_10_error``: ``05_10_error``),
    of the outermost mark's kind (numbers only: a date when more than one)."""
    if mark.prefix:
        return mark
    outer = found[: found.index(mark) + 1]
    kinds = [m.kind for m in outer]
    kind = "date" if len(outer) > 1 and set(kinds) <= {"numeric", "date"} else kinds[0]
    return Mark(kind, name[len(mark.base) + 1:], mark.base, mark.level, mark.before)


@lru_cache(maxsize=4)
def unmarked(mark_words: tuple[str, ...]) -> tuple[str, str]:
    """Regex parts for a name with no copy mark: a look-ahead refusing a copy prefix, and one
    look-behind refusing the last three characters of any mark word (``_cp``) or month: more
    than the marks (``threshold`` ends like ``old``), which only sends a few to the full rules."""
    endings = {word[-3:] if len(word) >= 3 else f"_{word}"[-3:] for word in mark_words}
    endings.update(month[-3:] for month in SHORT_MONTHS)
    # One look-behind per width: Python's must each be of one fixed width (a one-letter
    # word gives ``_x``).
    behind = "".join(f"(?<!{_trie(e for e in endings if len(e) == width)})"
                     for width in sorted({len(e) for e in endings}))
    return f"(?!(?:{_trie(PREFIX_WORDS)})_)", behind


def _trie(words: Iterable[str]) -> str:
    """An alternation of ``words`` as a trie: ``b(?:ak|ackup)`` rather than ``bak|backup``."""
    branches: dict[str, list[str]] = {}
    for word in sorted(set(words)):
        branches.setdefault(word[:1], []).append(word[1:])
    alternatives = []
    for first, rests in branches.items():
        if not first:
            alternatives.append("")
            continue
        rest = _trie(rests)
        alternatives.append(re.escape(first) + (f"(?:{rest})" if "|" in rest else rest))
    return "|".join(alternatives)


# -- what a copy finding says -------------------------------------------------------------------

def marked(mark: Mark) -> str:
    """The mark as it stands in the name: ``'_old'``, ``'copy_of_'``."""
    return f"{mark.text}_" if mark.prefix else f"_{mark.text}"


def explain_temporary_copy(verdict: Verdict, date: str,
                           folder: str | None) -> tuple[str, str, str]:
    """``(code, message, fix)`` of a temporary script's ``<what>`` judged a copy."""
    mark = verdict.mark
    where = "starts with" if mark.prefix else "ends in"
    place = "prefix" if mark.prefix else "suffix"
    fix = f"rename to ts_{date}_{mark.base}.py, or write a new dated script"
    if verdict.original is not None:
        return ("OPS201", f"a copy of {verdict.original}: the name {where} a {mark.kind} "
                f"{place} '{marked(mark)}'; temporary names say what the script does, not "
                "which copy it is", fix)
    if verdict.level > DOUBT:
        return ("OPS201", f"the name {where} a {mark.kind} {place} '{marked(mark)}'; "
                "temporary names say what the script does, not which copy it is", fix)
    whose = f"of {folder}'s" if folder else "in this folder"
    return ("OPS203", f"{_doubt(mark)}; no other script {whose} is named "
            f"ts_*_{mark.base}.py to prove it a copy",
            f"if it is a copy, {fix}; if '{mark.text}' is what the script works on, leave it")


def explain_script_copy(verdict: Verdict, kind: str, shared: Iterable[str],
                        rename: str | None) -> tuple[str, str, str]:
    """``(code, message, fix)`` of a recycle/unrecycle name judged a copy; ``rename`` is the
    fix that drops the mark, when one can be suggested."""
    mark = verdict.mark
    where = "starts with" if mark.prefix else "carries"
    place = "prefix" if mark.prefix else "suffix"
    drop = f"drop the {mark.kind} {place}" + (f": {rename}" if rename else "")
    if verdict.original is not None:
        return ("OPS301", f"a copy of {verdict.original}: the name {where} a {mark.kind} "
                f"{place} '{marked(mark)}'; {kind}/ holds one script per purpose", drop)
    if verdict.level > DOUBT:
        return ("OPS301", f"the name {where} a {mark.kind} {place} '{marked(mark)}'; "
                f"{kind}/ holds one script per purpose", drop)
    others = " or ".join(f"{f}/{mark.base}.py" for f in shared)
    return ("OPS304", f"{_doubt(mark)}; no {others} is there to prove it a copy",
            f"if it is a copy, {drop}; if '{mark.text}' is what the script works on, leave it")


def explain_given_copy(verdict: Verdict, name: str) -> str:
    """Why ``new`` or ``promote --as`` refuse ``name``: the copy it is."""
    mark = verdict.mark
    what = f"{'starts with' if mark.prefix else 'ends in'} a {mark.kind} " \
        f"{'prefix' if mark.prefix else 'suffix'} '{marked(mark)}'"
    if verdict.original:
        what = f"is a copy of {mark.base!r}: it {what}"
    return f"{name!r} {what}; a name says what the script does, not which copy it is"


def _doubt(mark: Mark) -> str:
    if mark.prefix:
        return f"'{mark.text}_' may say what the script does or mark a copy of {mark.base}"
    return f"'{mark.text}' may be what '{mark.before}' works on, or mark a copy of {mark.base}"


def configured_status_suffixes(table: Mapping[str, object], source: str) -> tuple[str, ...]:
    """The ``status_suffixes`` of a raw ``[tool.opsctl.lint]`` table, validated: the words
    ``new``, ``promote`` and the lint all reject as a name's last part."""
    if "status_suffixes" not in table:
        return DEFAULT_STATUS_SUFFIXES
    words = table["status_suffixes"]
    if not isinstance(words, list) or not all(isinstance(w, str) for w in words):
        raise ConfigError(f"{source}: [tool.opsctl.lint] status_suffixes must be "
                          f"{STATUS_SUFFIXES_TYPE}, not {type(words).__name__} {words!r}")
    for word in words:
        if not re.fullmatch(r"[a-z][a-z0-9]*(?:_[a-z0-9]+)*", word) and not word.isdigit():
            raise ConfigError(f"{source}: [tool.opsctl.lint] status_suffixes entry "
                              f"{word!r} must be a lowercase word such as \"old\"")
    return tuple(words)
