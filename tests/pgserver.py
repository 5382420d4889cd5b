"""A real PostgreSQL server for the team tests: Debian's postgresql, started in a temporary
data directory on a free loopback port, as the ``postgres`` user when running as root
(initdb refuses root), stopped at the end of the session."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path


def _bindir() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                   key=lambda p: int(Path(p).parts[-3]))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).parent
    raise RuntimeError("PostgreSQL's server programs (initdb, pg_ctl) are not installed; "
                       "`make test` installs Debian's postgresql package.")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PgServer:
    def __init__(self) -> None:
        self.bindir = _bindir()
        self.dir = Path(tempfile.mkdtemp(prefix="storyreel-pg-"))
        self.port = _free_port()
        self.as_root = os.geteuid() == 0

    def _run(self, *cmd: str) -> None:
        if self.as_root:
            line = " ".join(f"'{c}'" for c in cmd)
            subprocess.run(["su", "postgres", "-s", "/bin/sh", "-c", line], check=True,
                           capture_output=True, timeout=120)
        else:
            subprocess.run(list(cmd), check=True, capture_output=True, timeout=120)

    def start(self) -> PgServer:
        if self.as_root:
            shutil.chown(self.dir, "postgres")
        data = self.dir / "data"
        try:
            self._run(str(self.bindir / "initdb"), "-D", str(data), "-A", "trust",
                      "-U", "postgres", "-E", "UTF8", "--locale=C.UTF-8")
            self._run(str(self.bindir / "pg_ctl"), "-D", str(data), "-o",
                      f"-h 127.0.0.1 -p {self.port} -k {self.dir} -c fsync=off",
                      "-l", str(self.dir / "log"), "-w", "start")
        except subprocess.CalledProcessError as exc:
            log = (self.dir / "log").read_text(errors="replace") if (
                self.dir / "log").exists() else ""
            raise RuntimeError(f"PostgreSQL did not start: {exc.stderr!r} {log[-2000:]}") \
                from None
        return self

    def stop(self) -> None:
        try:
            self._run(str(self.bindir / "pg_ctl"), "-D", str(self.dir / "data"), "-m",
                      "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)

    def url(self, database: str, user: str = "postgres") -> str:
        return f"postgresql+psycopg://{user}@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        import psycopg

        with psycopg.connect(host="127.0.0.1", port=self.port, user="postgres",
                             dbname="postgres", autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)
