"""A real PostgreSQL server for the tests: ``initdb`` into a temporary directory, ``pg_ctl start``
on 127.0.0.1 and a free port, password (SCRAM) authentication, stopped at the end.

The binaries are Debian's (``apt-get install postgresql``: ``/usr/lib/postgresql/<N>/bin``) or
whatever ``pg_ctl`` is on ``PATH``. PostgreSQL refuses to run as root: as root the server runs as
the ``postgres`` user that Debian's package creates (``subprocess``'s ``user=``).

    with PgServer() as pg:
        url = pg.create_database("t1")     # postgresql://headroom:...@127.0.0.1:PORT/t1
        pg.restart()
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from knowledge.testing import free_port

PASSWORD = "pg-test-s3cret"
USER = "headroom"


def pg_bindir() -> Path | None:
    """Where ``initdb`` and ``pg_ctl`` live, newest version first; None when not installed."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"),
                   key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0)
    if found:
        return found[-1].parent
    on_path = shutil.which("pg_ctl")
    return Path(on_path).parent if on_path else None


class PgServer:
    """One PostgreSQL cluster; the superuser is ``headroom`` with :data:`PASSWORD`."""

    def __init__(self) -> None:
        bindir = pg_bindir()
        if bindir is None:
            raise RuntimeError("PostgreSQL is not installed (apt-get install postgresql)")
        self.bindir = bindir
        self.port = free_port()
        self.run_as: str | None = None
        if os.geteuid() == 0:
            self.run_as = "postgres"
            pwd.getpwnam(self.run_as)  # KeyError: Debian's package creates this user
        self.root = Path(tempfile.mkdtemp(prefix="headroom-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        if self.run_as:
            entry = pwd.getpwnam(self.run_as)
            os.chown(self.root, entry.pw_uid, entry.pw_gid)
        pwfile = self.root / "pw"
        pwfile.write_text(PASSWORD + "\n")
        if self.run_as:
            os.chown(pwfile, pwd.getpwnam(self.run_as).pw_uid, -1)
        self._run("initdb", "-D", str(self.data), "-U", USER, f"--pwfile={pwfile}",
                  "--auth=scram-sha-256", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync")
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.write(f"listen_addresses = '127.0.0.1'\nport = {self.port}\n"
                       f"unix_socket_directories = '{self.root}'\nfsync = off\n"
                       "max_connections = 200\n")

    def _run(self, tool: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        kwargs: dict[str, Any] = {"user": self.run_as} if self.run_as else {}
        return subprocess.run([str(self.bindir / tool), *args], capture_output=True, text=True,
                              check=check, timeout=120, cwd=self.root, **kwargs)

    @property
    def admin_url(self) -> str:
        """The superuser's URL of the ``postgres`` database."""
        return self.url("postgres")

    def url(self, database: str, user: str = USER, password: str = PASSWORD) -> str:
        """``postgresql://user:password@127.0.0.1:PORT/database``."""
        return f"postgresql://{user}:{password}@127.0.0.1:{self.port}/{database}"

    def start(self) -> None:
        """Start and wait until it accepts connections."""
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60", "start")

    def stop(self) -> None:
        """Fast shutdown: open connections are cut, as in a real restart."""
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop", check=False)

    def restart(self) -> None:
        """Stop and start again (every client connection is lost)."""
        self.stop()
        self.start()

    def sql(self, statement: str, database: str = "postgres") -> None:
        """Run one statement as the superuser (autocommit)."""
        import psycopg

        with psycopg.connect(self.url(database), autocommit=True, connect_timeout=10) as conn:
            conn.execute(statement)  # type: ignore[arg-type]

    def create_database(self, prefix: str = "t") -> str:
        """A new empty database; returns its superuser URL."""
        name = f"{prefix}_{uuid.uuid4().hex[:10]}"
        self.sql(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def __enter__(self) -> PgServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


def wait_port_closed(port: int, timeout_s: float = 10.0) -> None:
    """Wait until nothing listens on ``port`` any more."""
    import socket

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) != 0:
                return
        time.sleep(0.05)
