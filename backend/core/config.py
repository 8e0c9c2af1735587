"""Settings, read once from the environment.

Every process (webhook, rasa actions, worker, CLI) reads the same variables, so one
`.env`-free shell is enough to run the whole system. Defaults are the embedded ones:
SQLite under var/, Redis on loopback, local mode without WeChat credentials.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]  # the repository (backend/core/config.py)
VAR_DIR = Path(os.environ.get("WUYE_VAR_DIR", ROOT / "var"))


def _env(name: str, default: str = "") -> str:
    return os.environ.get(name, default).strip()


@dataclass(frozen=True)
class Settings:
    # Secrets are left out of repr(): a settings object in a log or a traceback shows none.
    database_url: str
    redis_url: str
    rasa_url: str
    wechat_token: str = field(repr=False)
    wechat_appid: str
    wechat_secret: str = field(repr=False)
    wechat_aes_key: str = field(repr=False)
    wechat_api_base_url: str
    # WeChat drops the connection after 5 s; we answer within this many seconds.
    reply_deadline: float = 4.5
    # Largest request body we read; a real WeChat push is a few KB.
    max_body_bytes: int = 64 * 1024
    service_hotline: str = "400-800-1234"
    company_name: str = "幸福里物业"
    # Template ids from the account's template library (模板消息): a new task for staff, and a
    # ticket's progress for owners. Fields used: keyword1..keyword5 (see backend/messaging/notify.py).
    template_task: str = "TASK_TEMPLATE"
    template_progress: str = "PROGRESS_TEMPLATE"
    # Where a template message's link points (the staff console's ticket page), if anywhere.
    console_base_url: str = ""
    # Bearer token for the admin JSON API (/api); unset: the API answers 403 to everyone.
    admin_api_token: str = field(default="", repr=False)
    # The account's own id (原始ID, gh_…): when set, a push addressed to another account is refused.
    wechat_account_id: str = ""
    # Outage notices sent per second, at most (WeChat answers 45009 beyond its frequency limit).
    broadcast_rate: float = 300.0
    # The action server: where Rasa and the webhook reach it, where it listens, and the token
    # Rasa sends it (required off loopback; see actions/server.py).
    action_server_url: str = "http://127.0.0.1:5055"
    actions_host: str = "127.0.0.1"
    actions_port: int = 5055
    actions_token: str = field(default="", repr=False)
    # Rasa's conversation API (off unless both are set): lets the webhook take back a half-done turn.
    rasa_enable_api: bool = False
    rasa_auth_token: str = field(default="", repr=False)
    # The console: its cookie key (a file under var/ in local mode), HTTPS-only cookies (None:
    # decided by local mode), whether it trusts one proxy's X-Forwarded-*, and the password
    # `python -m console create-user` takes instead of prompting.
    console_secret_key: str = field(default="", repr=False)
    console_cookie_secure: bool | None = None
    console_behind_proxy: bool = False
    console_password: str = field(default="", repr=False)
    # Prometheus: the address metrics ports bind (loopback or a private address), and each
    # process's port (0 switches that process's metrics off).
    metrics_host: str = "127.0.0.1"
    webhook_metrics_port: int = 9200
    worker_metrics_port: int = 9201
    console_metrics_port: int = 9202
    actions_metrics_port: int = 9203
    log_level: str = "INFO"
    # Where the launchers (make run, scripts/prod.py) put each server: the address they listen on
    # (loopback, or the node's private address behind a balancer), ports, how many Rasa servers
    # (on consecutive ports from rasa_port) and workers.
    listen_host: str = "127.0.0.1"
    webhook_port: int = 8000
    rasa_port: int = 5005
    rasa_servers: int = 1
    console_port: int = 5002
    workers: int = 1

    @property
    def local_mode(self) -> bool:
        """No WeChat credential at all: outbound messages go to the local outbox, /dev/chat exists.

        Never inferred from one missing secret: any of AppID, AppSecret or EncodingAESKey set
        means a real account, so a half-configured deployment is production, not a playground.
        """
        return not (self.wechat_appid or self.wechat_secret or self.wechat_aes_key)

    def production_problems(self) -> list[str]:
        """What must be fixed before a process may start with WeChat credentials (empty in
        local mode). Each line says what to set."""
        if self.local_mode:
            return []
        problems = []
        if len(self.wechat_token) < MIN_SECRET_LENGTH:
            problems.append(
                f"WECHAT_TOKEN must be set to the Token of the account's 服务器配置 "
                f"(at least {MIN_SECRET_LENGTH} characters; make a random one there)"
            )
        if not (self.wechat_appid and self.wechat_secret):
            problems.append(
                "WECHAT_APPID and WECHAT_SECRET must both be set (or neither, with "
                "WECHAT_AES_KEY unset too, for local mode)"
            )
        if self.wechat_aes_key and len(self.wechat_aes_key) != 43:
            problems.append("WECHAT_AES_KEY must be the 43-character EncodingAESKey")
        if len(self.admin_api_token) < MIN_SECRET_LENGTH:
            problems.append(
                f"ADMIN_API_TOKEN must be set to a random string of at least "
                f"{MIN_SECRET_LENGTH} characters (e.g. `python3 -c 'import secrets; "
                f"print(secrets.token_urlsafe(24))'`)"
            )
        return problems


# Shortest Token / admin token a deployment may use: guessing must be hopeless.
MIN_SECRET_LENGTH = 16
LOCAL_WECHAT_TOKEN = "wuye-local-token"


class UnsafeSettings(SystemExit):
    """Raised at process start when WeChat credentials are set but a secret is missing or weak.

    Exit status 4 is gunicorn's "app failed to load": its master stops instead of starting
    new workers forever."""

    def __init__(self, message: str):
        super().__init__(4)
        self.message = message

    def __str__(self) -> str:
        return self.message


def require_safe(settings: Settings, process: str) -> None:
    """Refuse to start a process with WeChat credentials and a missing or short secret."""
    problems = settings.production_problems()
    if problems:
        lines = "\n".join(f"  - {p}" for p in problems)
        message = f"{process}: refusing to start with WeChat credentials set:\n{lines}"
        print(message, file=sys.stderr, flush=True)
        raise UnsafeSettings(message)


def _port(name: str, default: int) -> int:
    value = _env(name)
    if not value:
        return default
    if not value.isdigit() or int(value) > 65535:
        raise SystemExit(f"{name} must be a port number (0-65535), not {value!r}")
    return int(value)


def _count(name: str, default: int) -> int:
    value = _env(name)
    if not value:
        return default
    if not value.isdigit() or not 1 <= int(value) <= 64:
        raise SystemExit(f"{name} must be a number from 1 to 64, not {value!r}")
    return int(value)


def _flag(name: str) -> bool | None:
    """1 / 0 (also true/false, yes/no); unset is None, anything else a clear refusal."""
    value = _env(name).lower()
    if not value:
        return None
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise SystemExit(f"{name} must be 1 or 0, not {value!r}")


def load_settings() -> Settings:
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    production = any(_env(name) for name in ("WECHAT_APPID", "WECHAT_SECRET", "WECHAT_AES_KEY"))
    return Settings(
        database_url=_env("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'wuye.db'}",
        redis_url=_env("REDIS_URL") or "redis://127.0.0.1:6379/0",
        rasa_url=_env("RASA_URL") or f"http://127.0.0.1:{_env('RASA_PORT', '5005')}",
        # The well-known local token only in local mode: a deployment must set its own.
        wechat_token=_env("WECHAT_TOKEN") or ("" if production else LOCAL_WECHAT_TOKEN),
        wechat_appid=_env("WECHAT_APPID"),
        wechat_secret=_env("WECHAT_SECRET"),
        wechat_aes_key=_env("WECHAT_AES_KEY"),
        wechat_api_base_url=_env("WECHAT_API_BASE_URL") or "https://api.weixin.qq.com",
        reply_deadline=float(_env("WECHAT_REPLY_DEADLINE", "4.5")),
        service_hotline=_env("SERVICE_HOTLINE") or "400-800-1234",
        company_name=_env("COMPANY_NAME") or "幸福里物业",
        template_task=_env("WECHAT_TEMPLATE_TASK") or "TASK_TEMPLATE",
        template_progress=_env("WECHAT_TEMPLATE_PROGRESS") or "PROGRESS_TEMPLATE",
        console_base_url=_env("CONSOLE_BASE_URL").rstrip("/"),
        admin_api_token=_env("ADMIN_API_TOKEN"),
        wechat_account_id=_env("WECHAT_ACCOUNT_ID"),
        broadcast_rate=float(_env("BROADCAST_RATE", "300")),
        action_server_url=(_env("ACTION_SERVER_URL") or f"http://127.0.0.1:{_port('ACTIONS_PORT', 5055)}").rstrip("/"),
        actions_host=_env("ACTIONS_HOST") or "127.0.0.1",
        actions_port=_port("ACTIONS_PORT", 5055),
        actions_token=_env("ACTIONS_TOKEN"),
        rasa_enable_api=bool(_flag("RASA_ENABLE_API")),
        rasa_auth_token=_env("RASA_AUTH_TOKEN"),
        console_secret_key=_env("CONSOLE_SECRET_KEY"),
        console_cookie_secure=_flag("CONSOLE_COOKIE_SECURE"),
        console_behind_proxy=bool(_flag("CONSOLE_BEHIND_PROXY")),
        console_password=os.environ.get("CONSOLE_PASSWORD", ""),  # a password keeps its spaces
        metrics_host=_env("METRICS_HOST") or "127.0.0.1",
        webhook_metrics_port=_port("WEBHOOK_METRICS_PORT", 9200),
        worker_metrics_port=_port("WORKER_METRICS_PORT", 9201),
        console_metrics_port=_port("CONSOLE_METRICS_PORT", 9202),
        actions_metrics_port=_port("ACTIONS_METRICS_PORT", 9203),
        log_level=_env("LOG_LEVEL") or "INFO",
        listen_host=_env("LISTEN_HOST") or "127.0.0.1",
        webhook_port=_port("WEBHOOK_PORT", 8000),
        rasa_port=_port("RASA_PORT", 5005),
        rasa_servers=_count("RASA_SERVERS", 1),
        console_port=_port("CONSOLE_PORT", 5002),
        workers=_count("WORKERS", 1),
    )
