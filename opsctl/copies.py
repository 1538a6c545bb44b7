"""Copy marks: the numeric, date and status suffixes (``_2``, ``_2024_06_10``, ``_old``) that
say which copy a name is rather than what it does.
"""

from __future__ import annotations

import re
from collections.abc import Iterable


class CopyMarks:
    """The copy suffixes of one configuration (its status words), compiled once."""

    def __init__(self, status_suffixes: Iterable[str]) -> None:
        self.status_suffixes = tuple(status_suffixes)
        status = "|".join(sorted((re.escape(s) for s in self.status_suffixes), key=len,
                                 reverse=True))
        # One trailing suffix token: a number (dates are runs of numbers) or a status word.
        self._suffix_re = re.compile(rf"_(\d+|{status})$" if status else r"_(\d+)$")

    def suffix_of(self, name: str) -> tuple[str, str] | None:
        """The kind (``numeric``/``date``/``status``) and text of a trailing copy suffix."""
        _base, removed = self.strip_suffixes(name)
        if not removed:
            return None
        if removed.replace("_", "").isdigit():
            kind = "date" if "_" in removed or len(removed) == 8 else "numeric"
        else:
            kind = "status"
        return kind, removed

    def strip_suffixes(self, name: str) -> tuple[str, str]:
        """Split ``export_order_data_05_10_error`` into ``export_order_data`` and ``05_10_error``.

        At least one purpose word is always kept, so ``new_orders`` stays as it is and a lone
        ``old`` is not a suffix.
        """
        base = name
        while True:
            m = self._suffix_re.search(base)
            if m is None or m.start() == 0 or not base[: m.start()].strip("_"):
                break
            head = base[: m.start()]
            if head.replace("_", "").isdigit():  # only numbers would be left: keep them
                break
            base = head
        removed = name[len(base) + 1:] if base != name else ""
        return base, removed
