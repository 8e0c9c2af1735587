"""Settings, read once from the environment.

Every process (webhook, rasa actions, worker, CLI) reads the same variables, so one
`.env`-free shell is enough to run the whole system. Defaults are the embedded ones:
SQLite under var/, Redis on loopback, local mode without WeChat credentials.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]  # the repository (backend/core/config.py)
VAR_DIR = Path(os.environ.get("WUYE_VAR_DIR", ROOT / "var"))


def _env(name: str, default: str = "") -> str:
    return os.environ.get(name, default).strip()


@dataclass(frozen=True)
class Settings:
    database_url: str
    redis_url: str
    rasa_url: str
    wechat_token: str
    wechat_appid: str
    wechat_secret: str
    wechat_aes_key: str
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
    admin_api_token: str = ""

    @property
    def local_mode(self) -> bool:
        """No credentials: outbound messages go to the local outbox, not to WeChat."""
        return not (self.wechat_appid and self.wechat_secret)


def load_settings() -> Settings:
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    return Settings(
        database_url=_env("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'wuye.db'}",
        redis_url=_env("REDIS_URL") or "redis://127.0.0.1:6379/0",
        rasa_url=_env("RASA_URL") or f"http://127.0.0.1:{_env('RASA_PORT', '5005')}",
        wechat_token=_env("WECHAT_TOKEN") or "wuye-local-token",
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
    )
