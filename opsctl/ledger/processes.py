"""This machine's processes, as a lock needs to know them: which node a process runs on,
when it started, and whether it is still alive. Knows no database.

A holder on the same node is checked by its pid (and the pid's start time, so a reused pid
is not mistaken for it); anything else falls back to the heartbeat lease (:mod:`.locks`).
"""

from __future__ import annotations

import os
from contextlib import suppress
from functools import cache


@cache
def node_id() -> str:
    """This process's node: host name, boot id and PID namespace.

    Two processes with equal node ids see the same pids, so a pid check is meaningful
    between them; containers sharing a host name are not confused.
    """
    import socket  # on use: importing it costs more than reading a SQLite ledger

    parts = [socket.gethostname()]
    with suppress(OSError):
        with open("/proc/sys/kernel/random/boot_id", encoding="ascii") as fh:
            parts.append(fh.read().strip())
    with suppress(OSError):
        parts.append(os.readlink("/proc/self/ns/pid"))
    return "/".join(parts)[:255]


def process_start(pid: int) -> str | None:
    """When ``pid`` started (clock ticks since boot, Linux), to tell a reused pid apart."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            stat = fh.read()
    except OSError:
        return None
    # The command name (field 2) may hold spaces and parentheses; fields resume after the last ')'.
    fields = stat[stat.rfind(b")") + 2:].split()
    return fields[19].decode() if len(fields) > 19 else None


def pid_alive(pid: int, started: str | None) -> bool:
    """Whether ``pid`` is still the process that took the lock."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # alive, owned by another user
    except OSError:
        return False
    if started is not None:
        now = process_start(pid)
        if now is not None and now != started:
            return False  # the pid was reused by a newer process
    return True
