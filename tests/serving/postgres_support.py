"""A throwaway PostgreSQL cluster for the team-server tests (tests/serving/test_tracking_server.py).

The machine's PostgreSQL (Debian's ``postgresql`` package, installed by ``.ci/run`` through
tools/ensure_postgres.sh when absent): ``initdb`` into a fresh temporary directory, ``pg_ctl
start`` on a free loopback port (and a socket in that directory, so no system path is used),
password authentication (scram-sha-256) for a superuser ``hcc``, durability off (fsync) for
speed. PostgreSQL refuses to run as root: as root the cluster runs as the ``postgres`` system
user that the package creates. Stopped (``-m immediate``) and deleted afterwards.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

from serving_support import free_port

USER = "hcc"


def postgres_bin() -> Path | None:
    """The directory of ``initdb`` and ``pg_ctl``: on PATH, else Debian's
    /usr/lib/postgresql/<version>/bin (newest), else None."""
    found = shutil.which("initdb")
    if found and shutil.which("pg_ctl"):
        return Path(found).resolve().parent
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"),
                      key=lambda p: int(p.parts[-3]) if p.parts[-3].isdigit() else 0)
    return versions[-1].parent if versions else None


def _runuser() -> str | None:
    found = shutil.which("runuser")
    if found:
        return found
    return next((p for p in ("/usr/sbin/runuser", "/sbin/runuser") if os.path.exists(p)), None)


def unavailable_reason() -> str | None:
    """Why no cluster can be started here (None: it can)."""
    if postgres_bin() is None:
        return ("PostgreSQL is not installed (no initdb on PATH or in /usr/lib/postgresql) and "
                ".ci/run could not install it (tools/ensure_postgres.sh: apt-get install "
                "postgresql)")
    if os.geteuid() == 0 and _runuser() is None:
        return "running as root without runuser: PostgreSQL refuses to run as root"
    if os.geteuid() == 0:
        import pwd

        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root and no 'postgres' user to run PostgreSQL as"
    return None


def _as_owner(cmd: list[str]) -> list[str]:
    return [_runuser() or "runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


@contextlib.contextmanager
def throwaway_cluster() -> Iterator[dict]:
    """A running cluster: a dict with ``uri`` (``postgresql://hcc:PASSWORD@127.0.0.1:PORT``,
    no database), ``port``, ``password`` and ``log`` (the server's log file)."""
    binaries = postgres_bin()
    base = Path(tempfile.mkdtemp(prefix="hcc-pg-"))
    data, password = base / "data", secrets.token_urlsafe(18)
    pwfile = base / "pw"
    pwfile.write_text(password)
    if os.geteuid() == 0:
        import pwd

        owner = pwd.getpwnam("postgres")
        for path in (base, pwfile):
            os.chown(path, owner.pw_uid, owner.pw_gid)
    pwfile.chmod(0o600)
    port = free_port()
    log = base / "postgres.log"
    started = False
    try:
        subprocess.run(_as_owner([str(binaries / "initdb"), "-D", str(data), "-U", USER,
                                  f"--pwfile={pwfile}", "--auth=scram-sha-256", "-E", "UTF8",
                                  "--locale=C", "--no-sync"]),
                       check=True, capture_output=True, text=True, timeout=120)
        options = (f"-c listen_addresses=127.0.0.1 -p {port} -c unix_socket_directories={base} "
                   "-c fsync=off -c synchronous_commit=off -c full_page_writes=off")
        subprocess.run(_as_owner([str(binaries / "pg_ctl"), "-D", str(data), "-l", str(log),
                                  "-o", options, "-w", "-t", "60", "start"]),
                       check=True, capture_output=True, text=True, timeout=90)
        started = True
        yield {"uri": f"postgresql://{USER}:{password}@127.0.0.1:{port}", "port": port,
               "password": password, "log": log}
    except subprocess.CalledProcessError as exc:
        tail = log.read_text()[-2000:] if log.exists() else ""
        raise RuntimeError(f"PostgreSQL did not start: {exc.stderr or exc.stdout}\n{tail}"
                           ) from None
    finally:
        if started:
            subprocess.run(_as_owner([str(binaries / "pg_ctl"), "-D", str(data), "-m",
                                      "immediate", "-w", "stop"]),
                           capture_output=True, timeout=60)
        shutil.rmtree(base, ignore_errors=True)
