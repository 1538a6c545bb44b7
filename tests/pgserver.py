"""A throwaway PostgreSQL server of a test's own, on a free port, that the test stops and
starts again: a ledger server going away mid-run, and coming back.

Built with the server's own ``initdb`` and ``pg_ctl`` (``/usr/lib/postgresql/*/bin``), run as
the ``postgres`` user when the tests run as root (PostgreSQL refuses to run as root). The data
folder is a fresh temporary folder of its own (the ``postgres`` user cannot enter pytest's
``tmp_path``, which is private to root); the server is stopped by its own ``pg_ctl`` (which
signals the postmaster's pid) and never by name, and :meth:`PgServer.remove` stops it and
deletes the folder.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest
from conftest import IN_CI


def _binaries() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    if found:
        return Path(found[-1]).parent
    on_path = shutil.which("pg_ctl")
    return Path(on_path).parent if on_path else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PgServer:
    """One PostgreSQL cluster in a folder of its own, listening on 127.0.0.1:``port`` (trust
    auth)."""

    def __init__(self) -> None:
        bindir = _binaries()
        if bindir is None:
            why = "PostgreSQL's initdb/pg_ctl are not installed"
            if IN_CI:
                pytest.fail(f"{why}; CI=true requires them")
            pytest.skip(why)
        self.bindir = bindir
        self.folder = Path(tempfile.mkdtemp(prefix="opsctl-pg-"))
        self.data = self.folder / "data"
        self.log = self.folder / "server.log"
        self.port = _free_port()
        self._as: list[str] = []
        try:
            if os.geteuid() == 0:  # PostgreSQL will not run as root
                self._as = ["runuser", "-u", "postgres", "--"]
                shutil.chown(self.folder, "postgres")
            self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres",
                      "--no-sync", "-E", "UTF8")
        except BaseException:
            shutil.rmtree(self.folder, ignore_errors=True)
            raise

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def start(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60",
                  "-o", f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.folder} "
                        "-c fsync=off", "start")

    def stop(self) -> None:
        """Stop at once (``-m immediate``): connections are cut as a crash or a network
        outage would cut them."""
        self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "-t", "60", "stop")

    def remove(self) -> None:
        """Stop the server if it runs, and delete its folder."""
        if self.data.exists() and self.running():
            self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)

    def running(self) -> bool:
        return self._run("pg_ctl", "-D", str(self.data), "status", check=False) == 0

    def _run(self, tool: str, *args: str, check: bool = True) -> int:
        proc = subprocess.run([*self._as, str(self.bindir / tool), *args], cwd=self.folder,
                              capture_output=True, text=True, timeout=120)
        if check and proc.returncode != 0:
            log = self.log.read_text(errors="replace") if self.log.exists() else ""
            raise AssertionError(f"{tool} {' '.join(args)} failed ({proc.returncode}):\n"
                                 f"{proc.stdout}{proc.stderr}\n{log}")
        return proc.returncode
