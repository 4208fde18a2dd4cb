"""``hcc tracking-server`` (``make server``): the team's MLflow tracking server.

One person needs no server: the pipeline tracks to ``sqlite:///<project>/mlflow.db``
(:mod:`pipeline.tracking`). A team runs ``mlflow server`` once, with

* a **PostgreSQL** backend store (runs, params, metrics, the model registry):
  ``HCC_TRACKING_BACKEND_URI=postgresql://USER:PASSWORD@HOST:5432/mlflow`` (driver: the
  ``server`` extra, ``pip install -e '.[server]'``);
* an **artifact root** the server reads and writes for its clients (``--serve-artifacts``):
  ``HCC_TRACKING_ARTIFACTS`` (a directory or an object-store URI such as ``s3://bucket/mlflow``;
  default ``<project>/mlserver-artifacts``), so clients need no access to the storage;
* **authentication and permissions** (MLflow's ``basic-auth`` app), on by default: users with
  passwords, an admin, and per-experiment / per-registered-model permissions (READ, USE, EDIT,
  MANAGE) kept in a second database, ``HCC_TRACKING_AUTH_DB_URI`` (default: the backend's server
  and credentials, database ``<name>_auth``). A user without a grant gets
  ``HCC_TRACKING_DEFAULT_PERMISSION`` (default ``NO_PERMISSIONS``: nothing).

Team members set ``MLFLOW_TRACKING_URI=https://mlflow.example.org`` (and
``MLFLOW_TRACKING_USERNAME`` / ``MLFLOW_TRACKING_PASSWORD``); ``make run``, ``dvc repro``,
``hcc serve --model models:/...`` and ``mlflow.pyfunc.load_model`` then use the server.

Every setting is an environment variable (secrets stay out of the command line and the process
list) with a command-line flag that overrides it; see :data:`SETTINGS` and docs/usage.md
"A team server". The server binds to 127.0.0.1 by default, behind a TLS-terminating proxy;
``--no-auth`` is refused on any other address.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from pipeline.serving.access import is_loopback
from pipeline.tracking import redact_uri

PERMISSIONS = ("NO_PERMISSIONS", "READ", "USE", "EDIT", "MANAGE")
SETTINGS = {
    "backend_store_uri": "HCC_TRACKING_BACKEND_URI",
    "artifacts_destination": "HCC_TRACKING_ARTIFACTS",
    "host": "HCC_TRACKING_HOST",
    "port": "HCC_TRACKING_PORT",
    "workers": "HCC_TRACKING_WORKERS",
    "auth_db_uri": "HCC_TRACKING_AUTH_DB_URI",
    "default_permission": "HCC_TRACKING_DEFAULT_PERMISSION",
    "allowed_hosts": "HCC_TRACKING_ALLOWED_HOSTS",
    "auth_cache_s": "HCC_TRACKING_AUTH_CACHE_S",
}
"""Setting -> environment variable (the flag of the same name, ``--backend-store-uri`` ...,
overrides it)."""
AUTH_ENV = "HCC_TRACKING_AUTH"
ADMIN_PASSWORD_FILE_ENV = "HCC_TRACKING_ADMIN_PASSWORD_FILE"
SECRET_KEY_ENV = "MLFLOW_FLASK_SERVER_SECRET_KEY"


class TrackingServerError(ValueError):
    """A setting of the tracking server is missing or wrong (the message names it)."""


@dataclass(frozen=True)
class ServerConfig:
    backend_store_uri: str
    artifacts_destination: str
    host: str = "127.0.0.1"
    port: int = 5000
    workers: int = 2
    auth: bool = True
    auth_db_uri: str | None = None
    default_permission: str = "NO_PERMISSIONS"
    allowed_hosts: str | None = None
    auth_cache_s: int = 60


def _database_uri(value: str, name: str) -> str:
    scheme = value.split("://", 1)[0] if "://" in value else ""
    if not scheme or not scheme.replace("+", "").replace("_", "").isalnum():
        raise TrackingServerError(
            f"{name}: expected a database URI such as postgresql://USER:PASSWORD@HOST:5432/"
            f"mlflow, got {redact_uri(value)!r}")
    return value


def auth_database_uri(backend_uri: str) -> str:
    """The default user database: the backend's server and credentials, database
    ``<name>_auth`` (``.../mlflow`` -> ``.../mlflow_auth``; SQLite ``x.db`` -> ``x_auth.db``)."""
    parts = urlsplit(backend_uri)
    path = parts.path
    if path.endswith(".db"):
        path = path[:-3] + "_auth.db"
    elif path.strip("/"):
        path = path.rstrip("/") + "_auth"
    else:
        raise TrackingServerError(f"HCC_TRACKING_BACKEND_URI: expected a database name in the "
                                  f"URI, got {redact_uri(backend_uri)!r}")
    at = backend_uri.rindex(parts.path)  # in place: urlunsplit would drop sqlite's empty host
    return backend_uri[:at] + path + backend_uri[at + len(parts.path):]


def _int(value, name: str, low: int, high: int) -> int:
    try:
        number = int(str(value).strip())
    except ValueError:
        number = None
    if number is None or not low <= number <= high:
        raise TrackingServerError(f"{name}: expected an integer from {low} to {high}, got "
                                  f"{value!r}")
    return number


def _flag(value: str, name: str) -> bool:
    text = value.strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise TrackingServerError(f"{name}: expected on or off, got {value!r}")


def config_from(args: argparse.Namespace | None = None,
                env: Mapping[str, str] | None = None, root: Path | None = None) -> ServerConfig:
    """The server's settings: each flag of ``args``, else its environment variable, else the
    default; checked (:class:`TrackingServerError` names the setting)."""
    from pipeline.config import project_root

    env = os.environ if env is None else env
    given = vars(args) if args is not None else {}

    def get(key: str):
        value = given.get(key)
        return value if value not in (None, "") else (env.get(SETTINGS[key]) or None)

    backend = get("backend_store_uri")
    if backend is None:
        raise TrackingServerError(
            "HCC_TRACKING_BACKEND_URI (or --backend-store-uri): expected the team's database, "
            "e.g. postgresql://mlflow:PASSWORD@db.example.org:5432/mlflow, got nothing. One "
            "person needs no server: the pipeline tracks to sqlite:///<project>/mlflow.db")
    backend = _database_uri(backend, "HCC_TRACKING_BACKEND_URI")
    artifacts = get("artifacts_destination") or str(
        (root or project_root()) / "mlserver-artifacts")
    host = get("host") or "127.0.0.1"
    auth = not given.get("no_auth") and _flag(env.get(AUTH_ENV) or "on", AUTH_ENV)
    if not auth and not is_loopback(host):
        raise TrackingServerError(
            f"--host {host} without authentication: a server reachable beyond this machine "
            f"must authenticate its users; drop --no-auth / {AUTH_ENV}=off, or bind to "
            "127.0.0.1")
    permission = (get("default_permission") or "NO_PERMISSIONS").upper()
    if permission not in PERMISSIONS:
        raise TrackingServerError(f"HCC_TRACKING_DEFAULT_PERMISSION: expected one of "
                                  f"{', '.join(PERMISSIONS)}, got {permission!r}")
    auth_db = get("auth_db_uri")
    return ServerConfig(
        backend_store_uri=backend,
        artifacts_destination=artifacts,
        host=host,
        port=_int(get("port") or 5000, "HCC_TRACKING_PORT", 1, 65535),
        workers=_int(get("workers") or 2, "HCC_TRACKING_WORKERS", 1, 64),
        auth=auth,
        auth_db_uri=(_database_uri(auth_db, "HCC_TRACKING_AUTH_DB_URI") if auth_db
                     else auth_database_uri(backend)) if auth else None,
        default_permission=permission,
        allowed_hosts=get("allowed_hosts"),
        auth_cache_s=_int(get("auth_cache_s") or 60, "HCC_TRACKING_AUTH_CACHE_S", 0, 3600),
    )


def auth_ini(config: ServerConfig) -> str:
    """MLflow's ``basic_auth.ini`` for ``config`` (the admin's password is not in it: MLflow
    reads ``MLFLOW_AUTH_ADMIN_PASSWORD`` on the first start)."""
    return "\n".join([
        "[mlflow]",
        f"default_permission = {config.default_permission}",
        f"database_uri = {config.auth_db_uri}",
        "admin_username = admin",  # MLFLOW_AUTH_ADMIN_USERNAME overrides it
        "authorization_function = mlflow.server.auth:authenticate_request_basic_auth",
        f"auth_cache_ttl_seconds = {config.auth_cache_s}",
        "",
    ])


def server_command(config: ServerConfig) -> list[str]:
    """The ``mlflow server`` command line of ``config`` (in this interpreter's environment).

    The backend URI, which holds the database password, is not on it: :func:`server_env`
    passes it in ``MLFLOW_BACKEND_STORE_URI`` (the process list shows command lines)."""
    cmd = [sys.executable, "-m", "mlflow", "server", "--serve-artifacts", "--artifacts-destination", config.artifacts_destination,
           "--host", config.host, "--port", str(config.port),
           "--workers", str(config.workers)]
    if config.allowed_hosts:
        cmd += ["--allowed-hosts", config.allowed_hosts]
    if config.auth:
        cmd += ["--app-name", "basic-auth"]
    return cmd


def server_env(config: ServerConfig, config_dir: Path,
               env: Mapping[str, str] | None = None) -> dict[str, str]:
    """The server's environment: the backend URI, the auth config file written into
    ``config_dir`` (private: it holds the user database's URI),
    the admin password from ``HCC_TRACKING_ADMIN_PASSWORD_FILE`` when given, and a CSRF secret
    for this start when ``MLFLOW_FLASK_SERVER_SECRET_KEY`` is unset."""
    out = dict(os.environ if env is None else env)
    out["MLFLOW_BACKEND_STORE_URI"] = config.backend_store_uri
    # MLflow's job runner serves GenAI features (online scoring, trace archival) this project
    # does not use: off unless asked for
    out.setdefault("MLFLOW_SERVER_ENABLE_JOB_EXECUTION", "false")
    if not config.auth:
        return out
    ini = config_dir / "basic_auth.ini"
    ini.touch(mode=0o600)
    ini.write_text(auth_ini(config))
    out["MLFLOW_AUTH_CONFIG_PATH"] = str(ini)
    password_file = out.get(ADMIN_PASSWORD_FILE_ENV)
    if password_file:
        try:
            out["MLFLOW_AUTH_ADMIN_PASSWORD"] = Path(password_file).read_text().strip()
        except OSError as exc:
            raise TrackingServerError(f"{ADMIN_PASSWORD_FILE_ENV} ({password_file}): expected "
                                      f"a readable file, got {exc.strerror}") from None
    # all workers of this start share it; set it yourself for several server hosts
    out.setdefault(SECRET_KEY_ENV, secrets.token_hex(32))
    return out


def create_databases(config: ServerConfig) -> list[str]:
    """Create the PostgreSQL databases of ``config`` that do not exist yet (needs the right to
    create databases); returns the names created."""
    uris = [config.backend_store_uri] + ([config.auth_db_uri] if config.auth else [])
    created = []
    for uri in uris:
        parts = urlsplit(uri)
        if not parts.scheme.startswith("postgresql"):
            continue
        import psycopg
        from psycopg import sql

        name = parts.path.strip("/")
        admin = urlunsplit(parts._replace(scheme="postgresql", path="/postgres"))
        with psycopg.connect(admin, autocommit=True) as conn:
            found = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
            if found.fetchone() is None:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
                created.append(name)
    return created


def describe(config: ServerConfig) -> str:
    """One line for the log: where the server listens and what it uses (no password)."""
    auth = (f"basic-auth (users in {redact_uri(config.auth_db_uri or '')}, default permission "
            f"{config.default_permission})") if config.auth else "NO authentication"
    return (f"MLflow tracking server on http://{config.host}:{config.port} - backend "
            f"{redact_uri(config.backend_store_uri)}, artifacts "
            f"{redact_uri(config.artifacts_destination)}, {auth}")


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The flags of ``hcc tracking-server`` (each overrides its environment variable)."""
    p.add_argument("--backend-store-uri", help="database of runs and the registry "
                   "(HCC_TRACKING_BACKEND_URI), e.g. postgresql://USER:PASSWORD@HOST:5432/mlflow")
    p.add_argument("--artifacts-destination", help="where the server keeps artifacts "
                   "(HCC_TRACKING_ARTIFACTS; default <project>/mlserver-artifacts)")
    p.add_argument("--host", help="address to bind (HCC_TRACKING_HOST; default 127.0.0.1)")
    p.add_argument("--port", help="port (HCC_TRACKING_PORT; default 5000)")
    p.add_argument("--workers", help="server processes (HCC_TRACKING_WORKERS; default 2)")
    p.add_argument("--auth-db-uri", help="database of users and permissions "
                   "(HCC_TRACKING_AUTH_DB_URI; default: the backend's, database <name>_auth)")
    p.add_argument("--default-permission", help="permission of a user without a grant "
                   f"(HCC_TRACKING_DEFAULT_PERMISSION: {', '.join(PERMISSIONS)}; default "
                   "NO_PERMISSIONS)")
    p.add_argument("--allowed-hosts", help="Host headers accepted (HCC_TRACKING_ALLOWED_HOSTS), "
                   "e.g. the proxy's public name mlflow.example.org")
    p.add_argument("--auth-cache-s", help="seconds a checked password is remembered per server "
                   "process (HCC_TRACKING_AUTH_CACHE_S; default 60, 0 = check every request): "
                   "a password change or a deleted user takes effect within this time")
    p.add_argument("--no-auth", action="store_true", help="no authentication (HCC_TRACKING_AUTH"
                   "=off): for a trial on 127.0.0.1 only")
    p.add_argument("--create-databases", action="store_true",
                   help="create the PostgreSQL databases first if they do not exist")
    p.add_argument("--dry-run", action="store_true",
                   help="print the configuration and the mlflow command, start nothing")


def run(args: argparse.Namespace) -> int:
    """``hcc tracking-server``: start the server in the foreground until Ctrl-C or SIGTERM."""
    from pipeline.serving.supervise import run_server

    try:
        config = config_from(args)
    except TrackingServerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    cmd = server_command(config)
    print(describe(config), file=sys.stderr)
    if args.dry_run:
        print(f"MLFLOW_BACKEND_STORE_URI={redact_uri(config.backend_store_uri)} "
              + " ".join(redact_uri(c) for c in cmd))
        return 0
    if args.create_databases:
        for name in create_databases(config):
            print(f"created database {name}", file=sys.stderr)
    if "://" not in config.artifacts_destination:
        Path(config.artifacts_destination).mkdir(parents=True, exist_ok=True)
    config_dir = Path(tempfile.mkdtemp(prefix="hcc-tracking-"))  # mode 0700
    try:
        env = server_env(config, config_dir)
        if config.auth and not env.get("MLFLOW_AUTH_ADMIN_PASSWORD"):
            print("note: MLFLOW_AUTH_ADMIN_PASSWORD (or HCC_TRACKING_ADMIN_PASSWORD_FILE) is "
                  "unset: MLflow needs it on the first start to create the admin user",
                  file=sys.stderr)
        return run_server(cmd, env)
    except TrackingServerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    finally:
        shutil.rmtree(config_dir, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="hcc tracking-server", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
