"""The settings of ``hcc tracking-server`` (pipeline/serving/tracking_server.py) and the URI
helpers of pipeline/tracking.py, without a database (the server itself: test_tracking_server.py)."""

from __future__ import annotations

import argparse
import stat
from pathlib import Path

import pytest

from pipeline import tracking
from pipeline.serving import tracking_server as ts

DB = "postgresql://mlflow:S3cret-pw@db.example.org:5432/mlflow"


def _args(**given) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    ts.add_arguments(parser)
    args = parser.parse_args([])
    for key, value in given.items():
        setattr(args, key, value)
    return args


def test_defaults_from_the_backend_alone(tmp_path):
    config = ts.config_from(None, {"HCC_TRACKING_BACKEND_URI": DB}, root=tmp_path)
    assert config == ts.ServerConfig(
        backend_store_uri=DB, artifacts_destination=str(tmp_path / "mlserver-artifacts"),
        host="127.0.0.1", port=5000, workers=2, auth=True,
        auth_db_uri="postgresql://mlflow:S3cret-pw@db.example.org:5432/mlflow_auth",
        default_permission="NO_PERMISSIONS", allowed_hosts=None, auth_cache_s=60)


def test_flags_override_the_environment(tmp_path):
    env = {"HCC_TRACKING_BACKEND_URI": "postgresql://a:b@x/one", "HCC_TRACKING_PORT": "6000",
           "HCC_TRACKING_HOST": "0.0.0.0", "HCC_TRACKING_DEFAULT_PERMISSION": "read"}
    config = ts.config_from(_args(backend_store_uri=DB, port="7000",
                                  artifacts_destination="s3://bucket/mlflow"), env, tmp_path)
    assert (config.backend_store_uri, config.port, config.host) == (DB, 7000, "0.0.0.0")
    assert config.default_permission == "READ" and config.artifacts_destination.startswith("s3")


@pytest.mark.parametrize("env, args, expected", [
    ({}, {}, "HCC_TRACKING_BACKEND_URI (or --backend-store-uri): expected the team's database"),
    ({"HCC_TRACKING_BACKEND_URI": "/var/lib/mlflow.db"}, {},
     "HCC_TRACKING_BACKEND_URI: expected a database URI such as postgresql://"),
    ({"HCC_TRACKING_BACKEND_URI": DB, "HCC_TRACKING_PORT": "http"}, {},
     "HCC_TRACKING_PORT: expected an integer from 1 to 65535, got 'http'"),
    ({"HCC_TRACKING_BACKEND_URI": DB, "HCC_TRACKING_DEFAULT_PERMISSION": "ALL"}, {},
     "HCC_TRACKING_DEFAULT_PERMISSION: expected one of NO_PERMISSIONS, READ, USE, EDIT, "
     "MANAGE, got 'ALL'"),
    ({"HCC_TRACKING_BACKEND_URI": DB, "HCC_TRACKING_AUTH": "maybe"}, {},
     "HCC_TRACKING_AUTH: expected on or off, got 'maybe'"),
    ({"HCC_TRACKING_BACKEND_URI": DB}, {"host": "0.0.0.0", "no_auth": True},
     "--host 0.0.0.0 without authentication"),
    ({"HCC_TRACKING_BACKEND_URI": DB, "HCC_TRACKING_AUTH": "off", "HCC_TRACKING_HOST": "10.0.0.2"},
     {}, "--host 10.0.0.2 without authentication"),
    ({"HCC_TRACKING_BACKEND_URI": "postgresql://u:S3cret-pw@h:5432"}, {},
     "expected a database name in the URI"),
])
def test_wrong_settings_are_named(env, args, expected, tmp_path):
    with pytest.raises(ts.TrackingServerError) as caught:
        ts.config_from(_args(**args), env, tmp_path)
    assert expected in str(caught.value) and "S3cret-pw" not in str(caught.value)


def test_no_auth_only_on_loopback(tmp_path):
    config = ts.config_from(_args(no_auth=True), {"HCC_TRACKING_BACKEND_URI": DB}, tmp_path)
    assert not config.auth and config.auth_db_uri is None
    assert "--app-name" not in ts.server_command(config)


@pytest.mark.parametrize("uri, auth", [
    ("postgresql://u:p@h:5432/mlflow?sslmode=require",
     "postgresql://u:p@h:5432/mlflow_auth?sslmode=require"),
    ("postgresql+psycopg://u@h/team", "postgresql+psycopg://u@h/team_auth"),
    ("sqlite:////srv/mlflow/mlflow.db", "sqlite:////srv/mlflow/mlflow_auth.db"),
])
def test_the_user_database_sits_beside_the_backend(uri, auth):
    assert ts.auth_database_uri(uri) == auth


def test_command_and_environment_keep_passwords_off_the_command_line(tmp_path):
    config = ts.config_from(_args(allowed_hosts="mlflow.example.org"),
                            {"HCC_TRACKING_BACKEND_URI": DB}, tmp_path)
    cmd = ts.server_command(config)
    assert "S3cret-pw" not in " ".join(cmd)
    assert cmd[cmd.index("--artifacts-destination") + 1] == config.artifacts_destination
    assert {"--serve-artifacts", "basic-auth", "mlflow.example.org"} <= set(cmd)
    password = tmp_path / "admin-password"
    password.write_text("adm1n-password\n")
    env = ts.server_env(config, tmp_path, {"HCC_TRACKING_ADMIN_PASSWORD_FILE": str(password)})
    assert env["MLFLOW_BACKEND_STORE_URI"] == DB
    assert env["MLFLOW_AUTH_ADMIN_PASSWORD"] == "adm1n-password"
    assert len(env["MLFLOW_FLASK_SERVER_SECRET_KEY"]) == 64
    assert env["MLFLOW_SERVER_ENABLE_JOB_EXECUTION"] == "false"
    ini = Path(env["MLFLOW_AUTH_CONFIG_PATH"])
    assert stat.S_IMODE(ini.stat().st_mode) == 0o600
    text = ini.read_text()
    assert f"database_uri = {config.auth_db_uri}" in text
    assert "default_permission = NO_PERMISSIONS" in text and "adm1n" not in text
    kept = ts.server_env(config, tmp_path, {"MLFLOW_FLASK_SERVER_SECRET_KEY": "shared"})
    assert kept["MLFLOW_FLASK_SERVER_SECRET_KEY"] == "shared"
    with pytest.raises(ts.TrackingServerError, match="HCC_TRACKING_ADMIN_PASSWORD_FILE"):
        ts.server_env(config, tmp_path, {"HCC_TRACKING_ADMIN_PASSWORD_FILE": "/nonexistent"})


def test_dry_run_prints_the_command_without_the_password(monkeypatch, capsys):
    from pipeline.serving.cli import main

    monkeypatch.setenv("HCC_TRACKING_BACKEND_URI", DB)
    assert main(["tracking-server", "--dry-run", "--port", "5111"]) == 0
    out, err = capsys.readouterr()
    assert "S3cret-pw" not in out + err and "mlflow:***@db.example.org" in out
    assert "-m mlflow server" in out and "--port 5111" in out and "basic-auth" in err
    monkeypatch.delenv("HCC_TRACKING_BACKEND_URI")
    assert main(["tracking-server", "--dry-run"]) == 2
    assert "HCC_TRACKING_BACKEND_URI" in capsys.readouterr().err


@pytest.mark.parametrize("uri, shown", [
    (DB, "postgresql://mlflow:***@db.example.org:5432/mlflow"),
    ("https://alice:pw@mlflow.example.org/", "https://alice:***@mlflow.example.org/"),
    ("postgresql://mlflow@db/x", "postgresql://mlflow@db/x"),
    ("sqlite:////srv/mlflow.db", "sqlite:////srv/mlflow.db"),
    ("/plain/path", "/plain/path"),
])
def test_redact_uri(uri, shown):
    assert tracking.redact_uri(uri) == shown


def test_a_server_uri_is_told_from_a_local_store():
    assert tracking.is_server("http://127.0.0.1:5000") and tracking.is_server("HTTPS://x")
    assert not tracking.is_server("sqlite:////x/mlflow.db") and not tracking.is_server(DB)
