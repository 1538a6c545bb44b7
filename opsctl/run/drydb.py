"""What a dry run must know of each database: which statements end or replace a transaction
there, how its driver connection can be made to commit, how the outer transaction is opened,
and what a rollback reports it could not undo.

:func:`database` picks the class for a SQLAlchemy dialect name; the guard (:mod:`.dryguard`)
asks it and never tests a dialect's name itself. Light: imports only :mod:`re`.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

#: A statement's words, with comments and quoted text (strings, quoted names, PostgreSQL's
#: dollar-quoted bodies) taken out so a word inside them never counts.
_TOKENS = r"""
    (?P<space>\s+)
  | (?P<line>--[^\n]*)
  | (?P<block>/\*.*?(?:\*/|\Z))
  | (?P<dollar>\$(?P<tag>[A-Za-z_]\w*)?\$.*?(?:\$(?P=tag)\$|\Z))
  | (?P<semi>;)
  | (?P<word>[A-Za-z_@][\w@.$]*)
  | (?P<other>.)
"""
_STANDARD = re.compile(_TOKENS.replace(
    "(?P<semi>", r"""(?P<quoted>'(?:[^']|'')*(?:'|\Z)|"(?:[^"]|"")*(?:"|\Z))|(?P<semi>"""),
    re.S | re.X)
#: MySQL and MariaDB: backslash escapes in strings, backquoted names and ``#`` comments.
_MYSQL = re.compile(_TOKENS.replace(
    "(?P<semi>", r"""(?P<hash>\#[^\n]*)|(?P<quoted>'(?:[^'\\]|\\.|'')*(?:'|\Z)"""
    r"""|"(?:[^"\\]|\\.|"")*(?:"|\Z)|`[^`]*(?:`|\Z))|(?P<semi>"""), re.S | re.X)

_SECOND_WORDS = (["TRANSACTION"], ["WORK"], ["PREPARED"])


class Database:
    """Any database: the SQL standard's transaction statements."""

    #: The statement grammar (quoting and comments) of this database.
    grammar: ClassVar[re.Pattern[str]] = _STANDARD
    #: Driver connection attributes whose change would commit or leave the transaction.
    autocommit_attributes: ClassVar[frozenset[str]] = frozenset()
    #: Driver connection methods that end the transaction whatever their arguments.
    ending_methods: ClassVar[dict[str, str]] = {
        "commit": "would commit the dry run's changes",
        "rollback": "would end the dry run's transaction",
        "tpc_begin": "would replace the dry run's transaction",
        "tpc_commit": "would commit the dry run's changes",
    }
    #: Driver connection methods that run SQL text given as their first argument.
    sql_methods: ClassVar[frozenset[str]] = frozenset({"execute", "executemany", "query"})

    def statements(self, sql: str) -> list[list[str]]:
        """The words of each statement in ``sql`` (upper case, first six at most)."""
        out: list[list[str]] = [[]]
        for match in self.grammar.finditer(sql):
            kind = match.lastgroup
            if kind == "semi":
                out.append([])
            elif kind == "word" and len(out[-1]) < 6:
                out[-1].append(match.group().upper())
            elif kind in ("quoted", "other") and len(out[-1]) < 6:
                out[-1].append("?")
        return [words for words in out if words]

    def refusal(self, sql: str) -> str | None:
        """Why a statement of ``sql`` must not run in a dry run, or None."""
        for words in self.statements(sql):
            why = self.ends_transaction(words) or self.commits_implicitly(words)
            if why is not None:
                return why
        return None

    def ends_transaction(self, words: list[str]) -> str | None:
        first, rest = words[0], words[1:4]
        name = " ".join(words[:2]) if rest[:1] in _SECOND_WORDS else first
        if first in ("COMMIT", "END", "ABORT") or (first == "ROLLBACK" and "TO" not in rest) \
                or (first == "PREPARE" and rest[:1] == ["TRANSACTION"]):
            return f"the statement {name} would end the dry run's transaction"
        if first in ("BEGIN", "XA") or (first == "START" and rest[:1] == ["TRANSACTION"]):
            return f"the statement {name} would replace the dry run's transaction"
        if first == "SET" and any(w.rsplit(".", 1)[-1].lstrip("@") == "AUTOCOMMIT"
                                  for w in rest):
            return "the statement SET AUTOCOMMIT would commit the dry run's changes"
        return None

    def commits_implicitly(self, words: list[str]) -> str | None:
        return None

    def attribute_refusal(self, name: str, value: Any) -> str | None:
        """Why setting the driver connection's ``name`` to ``value`` is refused, or None."""
        if name in self.autocommit_attributes:
            return f"setting the driver connection's {name} (autocommit) would commit the " \
                   "dry run's changes"
        return None

    def call_refusal(self, name: str, args: tuple[Any, ...]) -> str | None:
        """Why calling the driver connection's method ``name`` is refused, or None."""
        if name in self.ending_methods:
            return f"{name}() on the driver connection under the session " \
                   f"{self.ending_methods[name]}"
        if name in self.sql_methods and args and isinstance(args[0], str):
            return self.refusal(args[0])
        return None

    def begin(self, driver: Any) -> None:
        """Make sure the server has begun the outer transaction (most drivers begin it with
        the first statement)."""

    def not_undone(self, driver: Any) -> str | None:
        """After the final rollback: what the database says it could not undo, or None."""
        return None


class SQLite(Database):
    autocommit_attributes = frozenset({"isolation_level", "autocommit"})
    ending_methods = {**Database.ending_methods,
                      "executescript": "commits the open transaction first (sqlite3 does)"}

    def attribute_refusal(self, name: str, value: Any) -> str | None:
        if name == "isolation_level" and value is not None:
            return None  # another BEGIN flavour for later transactions: harmless
        return super().attribute_refusal(name, value)

    def begin(self, driver: Any) -> None:
        # pysqlite begins only before INSERT/UPDATE/DELETE: the first SAVEPOINT would begin
        # the transaction itself, and its RELEASE (the script's commit()) would commit it.
        if not getattr(driver, "in_transaction", True):
            driver.execute("BEGIN")


class PostgreSQL(Database):
    autocommit_attributes = frozenset({"autocommit"})

    def attribute_refusal(self, name: str, value: Any) -> str | None:
        return None if name == "autocommit" and not value else \
            super().attribute_refusal(name, value)


class MySQL(Database):
    """MySQL and MariaDB: DDL and a few more statements commit before they run."""

    grammar = _MYSQL
    ending_methods = {**Database.ending_methods,
                      "begin": "would commit the dry run's changes (BEGIN commits on MySQL)"}
    #: Statements that commit implicitly (MySQL's and MariaDB's lists), by first word.
    IMPLICIT = frozenset({"ALTER", "CREATE", "DROP", "RENAME", "TRUNCATE", "GRANT", "REVOKE",
                          "LOCK", "UNLOCK", "ANALYZE", "CHECK", "OPTIMIZE", "REPAIR", "FLUSH",
                          "RESET", "CACHE", "INSTALL", "UNINSTALL", "CHANGE", "START", "STOP",
                          "SHUTDOWN"})

    def commits_implicitly(self, words: list[str]) -> str | None:
        first = words[0]
        if first == "LOAD" and words[1:2] == ["INDEX"]:
            first = "LOAD INDEX"
        elif first == "SET" and words[1:2] == ["PASSWORD"]:
            first = "SET PASSWORD"
        elif first not in self.IMPLICIT:
            return None
        if first in ("CREATE", "DROP") and "TEMPORARY" in words[1:4]:
            return None  # temporary tables do not commit
        what = " ".join(words[:2]) if len(words) > 1 and words[1] != "?" else first
        return f"{what} commits implicitly on MySQL/MariaDB"

    def call_refusal(self, name: str, args: tuple[Any, ...]) -> str | None:
        if name == "autocommit" and args and args[0]:
            return "autocommit(True) on the driver connection would commit the dry run's " \
                   "changes"
        return super().call_refusal(name, args)

    def not_undone(self, driver: Any) -> str | None:
        cursor = driver.cursor()
        try:
            cursor.execute("SHOW WARNINGS")
            codes = {int(row[1]) for row in cursor.fetchall()}
        finally:
            cursor.close()
        if 1196 in codes:  # ER_WARNING_NOT_COMPLETE_ROLLBACK
            return "changes to non-transactional tables (MyISAM, Aria, MEMORY) could not " \
                   "be rolled back"
        return None


_BY_DIALECT: dict[str, type[Database]] = {"sqlite": SQLite, "postgresql": PostgreSQL,
                                          "mysql": MySQL, "mariadb": MySQL}


def database(dialect_name: str) -> Database:
    """The dry-run knowledge of a SQLAlchemy dialect (the SQL standard's for an unknown one)."""
    return _BY_DIALECT.get(dialect_name, Database)()
