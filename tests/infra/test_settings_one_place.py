"""Settings are read in one place (backend/core/config.py) and every variable is documented.

A module that reads os.environ on its own drifts from the README's table and from what the other
processes think the setting is; these tests fail when one does.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from backend.core import config

ROOT = Path(__file__).resolve().parents[2]
# The processes' own code. Launchers, benches and tests (scripts/, tests/) set up environments
# for children and may read and write them.
PRODUCT = ["backend", "webhook", "console", "adminapi", "actions", "conversation_store", "rasa_sdk_plugins"]
READ = re.compile(r"os\.(?:environ\b(?!\[\"PROMETHEUS_MULTIPROC_DIR\"\] =)|getenv\b)")
VARIABLE = re.compile(r"""(?:_env|_port|_flag|_count|os\.environ\.get)\(\s*["']([A-Z_]+)["']""")


def _sources():
    for folder in PRODUCT:
        yield from sorted((ROOT / folder).rglob("*.py"))


def test_only_the_settings_module_reads_the_environment():
    readers = []
    for path in _sources():
        if path == ROOT / "backend/core/config.py":
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if READ.search(line):
                readers.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert readers == [], "read these through backend.core.config.load_settings():\n" + "\n".join(readers)


def test_every_variable_is_in_the_readme_table():
    names = set(VARIABLE.findall((ROOT / "backend/core/config.py").read_text(encoding="utf-8")))
    assert {"DATABASE_URL", "CONSOLE_SECRET_KEY", "ACTIONS_TOKEN", "WEBHOOK_PORT"} <= names  # the pattern finds them
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = {m for m in re.findall(r"^\| `([A-Z_]+)` \|", readme, flags=re.M)}
    assert names - table == set(), "add these to the README's Settings table"


def test_secrets_never_show_in_the_settings_repr(monkeypatch):
    secrets = {
        "WECHAT_TOKEN": "tok-" + "a" * 20,
        "WECHAT_SECRET": "sec-" + "b" * 20,
        "WECHAT_AES_KEY": "k" * 43,
        "ADMIN_API_TOKEN": "adm-" + "c" * 20,
        "ACTIONS_TOKEN": "act-" + "d" * 20,
        "RASA_AUTH_TOKEN": "ras-" + "e" * 20,
        "CONSOLE_SECRET_KEY": "con-" + "f" * 20,
        "CONSOLE_PASSWORD": "pw-" + "g" * 20,
    }
    for name, value in secrets.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("WECHAT_APPID", "wx0123456789")
    settings = config.load_settings()
    shown = repr(settings)
    assert "wx0123456789" in shown  # the repr is there, just without the secrets
    assert [v for v in secrets.values() if v in shown] == []
    assert (
        settings.actions_token == secrets["ACTIONS_TOKEN"] and settings.console_password == secrets["CONSOLE_PASSWORD"]
    )


@pytest.mark.parametrize(
    "name,value",
    [("WEBHOOK_PORT", "80a"), ("ACTIONS_PORT", "70000"), ("RASA_SERVERS", "0"), ("CONSOLE_COOKIE_SECURE", "maybe")],
)
def test_a_malformed_value_stops_the_process_with_its_name(monkeypatch, name, value):
    monkeypatch.setenv(name, value)
    with pytest.raises(SystemExit, match=name):
        config.load_settings()


def test_defaults_are_the_embedded_ones(monkeypatch):
    for field in dataclasses.fields(config.Settings):
        monkeypatch.delenv(field.name.upper(), raising=False)
    for name in (
        "ACTION_SERVER_URL",
        "RASA_URL",
        "DATABASE_URL",
        "REDIS_URL",
        "WECHAT_APPID",
        "WECHAT_SECRET",
        "WECHAT_AES_KEY",
        "RASA_ENABLE_API",
        "CONSOLE_COOKIE_SECURE",
        "ACTIONS_PORT",
        "RASA_PORT",
    ):
        monkeypatch.delenv(name, raising=False)
    s = config.load_settings()
    assert s.local_mode and s.action_server_url == "http://127.0.0.1:5055"
    assert s.rasa_url == "http://127.0.0.1:5005" and s.console_cookie_secure is None and not s.rasa_enable_api
    assert (s.webhook_metrics_port, s.worker_metrics_port, s.console_metrics_port, s.actions_metrics_port) == (
        9200,
        9201,
        9202,
        9203,
    )
