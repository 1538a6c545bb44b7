"""A :class:`~.glance.Glance`'s reads of sharded runs: a parent's progress as its children's
summed, and the links of a parent and its shards, as :class:`~.sharded.Sharded` reads them,
through ``sqlite3`` alone or a server's driver (:mod:`.serverglance`)."""

from __future__ import annotations

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy reads it the same)

if TYPE_CHECKING:
    import datetime as _dt
    from collections.abc import Sequence
    from typing import Any

    from .values import Progress


class GlanceShards:
    """Sharded runs' reads, on a glance's connection."""

    _MARK: str

    if TYPE_CHECKING:
        def _execute(self, sql: str, params: Sequence[Any] = ()) -> Any: ...

        @staticmethod
        def _when(cell: Any) -> _dt.datetime: ...

    def summed(self, found: dict[int, Progress], parents: list[int]) -> dict[int, Progress]:
        """``found``, the progress of each of ``parents`` (sharded runs: their own row is
        there from their shards' link) its children's summed, as
        :meth:`.sharded.Sharded.progress_of` sums them."""
        from .values import shards_summed

        for parent in parents:
            children = [(*c[:4], self._when(c[4])) for c in self._execute(
                "SELECT run_id, shard, done, total, updated_at FROM opsctl_progress WHERE "
                f"parent_id = {self._MARK}", [parent]).fetchall()]
            if children:
                found[parent] = shards_summed(parent, children, found.get(parent))
        return found

    def shards(self, run_id: int) -> list[tuple[int, int | None, str, str | None]]:
        """:meth:`.sharded.Sharded.shards`."""
        mark = self._MARK
        return list(self._execute(
            f"SELECT run_id, parent_id, shard, key_range FROM opsctl_progress WHERE (run_id = "
            f"{mark} AND parent_id IS NOT NULL) OR parent_id = {mark} ORDER BY run_id",
            [run_id, run_id]).fetchall())
