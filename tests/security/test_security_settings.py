"""Local mode is explicit; a deployment with WeChat credentials has real secrets or does not start."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from backend.core.config import Settings, UnsafeSettings, load_settings, require_safe
from scripts import stack

GOOD_TOKEN = "a-real-token-0123456789"
GOOD_ADMIN = "a-real-admin-token-0123456789"
CREDENTIALS = {"WECHAT_APPID": "wxsecuritytest001", "WECHAT_SECRET": "s3cret", "WECHAT_AES_KEY": "A" * 43}


def settings_with(monkeypatch, tmp_path, **env) -> Settings:
    for name in (*CREDENTIALS, "WECHAT_TOKEN", "ADMIN_API_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("WUYE_VAR_DIR", str(tmp_path))
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return load_settings()


@pytest.mark.parametrize("name", list(CREDENTIALS))
def test_any_one_credential_means_production(monkeypatch, tmp_path, name):
    assert settings_with(monkeypatch, tmp_path).local_mode
    assert not settings_with(monkeypatch, tmp_path, **{name: CREDENTIALS[name]}).local_mode


def test_no_default_token_outside_local_mode(monkeypatch, tmp_path):
    assert settings_with(monkeypatch, tmp_path).wechat_token  # local mode has its well-known one
    production = settings_with(monkeypatch, tmp_path, WECHAT_AES_KEY="A" * 43)
    assert production.wechat_token == ""


@pytest.mark.parametrize(
    "env, says",
    [
        ({}, "WECHAT_TOKEN"),
        ({"WECHAT_TOKEN": "short-token"}, "WECHAT_TOKEN"),
        ({"WECHAT_TOKEN": GOOD_TOKEN}, "ADMIN_API_TOKEN"),
        ({"WECHAT_TOKEN": GOOD_TOKEN, "ADMIN_API_TOKEN": "short"}, "ADMIN_API_TOKEN"),
    ],
)
def test_weak_or_missing_secrets_refuse_to_start(monkeypatch, tmp_path, env, says):
    settings = settings_with(monkeypatch, tmp_path, **CREDENTIALS, **env)
    with pytest.raises(UnsafeSettings) as refused:
        require_safe(settings, "webhook")
    assert says in str(refused.value)


def test_half_configured_credentials_refuse_to_start(monkeypatch, tmp_path):
    settings = settings_with(
        monkeypatch, tmp_path, WECHAT_AES_KEY="A" * 43, WECHAT_TOKEN=GOOD_TOKEN, ADMIN_API_TOKEN=GOOD_ADMIN
    )
    with pytest.raises(UnsafeSettings) as refused:
        require_safe(settings, "worker")
    assert "WECHAT_APPID" in str(refused.value)
    require_safe(
        settings_with(monkeypatch, tmp_path, **CREDENTIALS, WECHAT_TOKEN=GOOD_TOKEN, ADMIN_API_TOKEN=GOOD_ADMIN),
        "worker",
    )  # complete: starts


def _exits(argv: list[str], env: dict, within: float = 90) -> tuple[int | None, str]:
    """Start a real process; (exit code or None if still running after `within` s, its output)."""
    proc = subprocess.Popen(
        argv, cwd=stack.ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True
    )
    deadline = time.monotonic() + within
    while proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    if proc.poll() is None:
        import os
        import signal

        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        return None, proc.stdout.read().decode(errors="replace")
    return proc.returncode, proc.stdout.read().decode(errors="replace")


@pytest.mark.parametrize("process", ["webhook", "console", "worker", "actions"])
def test_processes_refuse_to_start_with_a_short_token(tmp_path, redis_url, process):
    ports = stack.Ports(webhook=stack.free_port(), console=stack.free_port(), actions=stack.free_port())
    env = stack.child_env(
        ports,
        {
            **CREDENTIALS,
            "WECHAT_TOKEN": "short",
            "ADMIN_API_TOKEN": GOOD_ADMIN,
            "REDIS_URL": redis_url,
            "DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}",
            "WUYE_VAR_DIR": str(tmp_path),
            "CONSOLE_SECRET_KEY": "k" * 32,
        },
    )
    argv = stack.commands(ports, model="unused")[process]
    code, output = _exits(argv, env)
    assert code not in (None, 0), f"{process} started with a 5-character WECHAT_TOKEN:\n{output[-2000:]}"
    assert "WECHAT_TOKEN" in output, output[-2000:]


def test_demo_data_is_never_loaded_with_credentials(tmp_path):
    import os

    from backend.core import db
    from backend.core.models import Resident, Staff

    url = f"sqlite:///{tmp_path / 'prod.db'}"
    env = {
        **os.environ,
        **CREDENTIALS,
        "WECHAT_TOKEN": GOOD_TOKEN,
        "ADMIN_API_TOKEN": GOOD_ADMIN,
        "DATABASE_URL": url,
        "WUYE_VAR_DIR": str(tmp_path),
    }
    result = subprocess.run(
        [sys.executable, "-m", "backend", "seed-demo"], cwd=stack.ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode != 0 and "local mode" in result.stderr
    db.upgrade(url)
    with db.session_scope(db.get_engine(url)) as session:
        assert session.query(Resident).count() == 0 and session.query(Staff).count() == 0


def test_rasa_http_api_only_on_request_and_then_with_a_token():
    from scripts.rasa_server import rasa_argv

    assert "--enable-api" not in rasa_argv(["-p", "5005"], environ={})
    with pytest.raises(SystemExit) as refused:
        rasa_argv([], environ={"RASA_ENABLE_API": "1", "RASA_AUTH_TOKEN": "short"})
    assert "RASA_AUTH_TOKEN" in str(refused.value)
    argv = rasa_argv([], environ={"RASA_ENABLE_API": "1", "RASA_AUTH_TOKEN": "t" * 24})
    assert argv[argv.index("--auth-token") + 1] == "t" * 24
    # What `make run` starts: the launcher, never `rasa run --enable-api` with a token on the
    # command line (any local user can read a process's arguments).
    commands = stack.commands(stack.Ports(), model="m")
    assert all("--enable-api" not in argv and "--auth-token" not in argv for argv in commands.values())
