"""The whole system for end-to-end tests: real Rasa model and server, action server, worker,
webhook (gunicorn), Redis and SQLite; only WeChat's API is the local stand-in."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from scripts import stack
from scripts.wechat_standin import StandIn
from tests.conftest import free_port
from tests.e2e.wx import WeChat

# The official test account (WECHAT.md): token, EncodingAESKey and appid.
TOKEN = "AAAAA"
AES_KEY = "A" * 43
APPID = "wxba5fad812f8e6fb9"


class Stack:
    def __init__(self, tmp: Path, redis_url: str, standin_url: str):
        self.ports = stack.Ports(webhook=free_port(), rasa=free_port(), actions=free_port())
        self.db_path = tmp / "e2e.db"
        self.log_dir = tmp / "logs"
        self.log_dir.mkdir()
        self.env = stack.child_env(self.ports, {
            "REDIS_URL": redis_url,
            "DATABASE_URL": f"sqlite:///{self.db_path}",
            "WUYE_VAR_DIR": str(tmp / "var"),
            "WECHAT_TOKEN": TOKEN, "WECHAT_AES_KEY": AES_KEY, "WECHAT_APPID": APPID,
            "WECHAT_SECRET": "e2e-secret", "WECHAT_API_BASE_URL": standin_url,
        })
        self.procs: dict[str, subprocess.Popen] = {}
        self.base_url = f"http://127.0.0.1:{self.ports.webhook}"

    def start(self, name: str) -> None:
        self.procs[name] = stack.start(name, stack.commands(self.ports)[name], self.env, self.log_dir)

    def stop(self, name: str) -> None:
        proc = self.procs.pop(name)
        proc.terminate()
        proc.wait(timeout=30)

    def wait_rasa(self) -> None:
        stack.wait_http(f"http://127.0.0.1:{self.ports.rasa}/status", 300, self.procs["rasa"])

    def logs(self) -> str:
        return "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-4000:]}" for p in self.log_dir.glob("*.log"))


@pytest.fixture(scope="session")
def standin():
    s = StandIn()
    url = s.start()
    s.url = url
    yield s
    s.stop()


@pytest.fixture(scope="session")
def system(tmp_path_factory, redis_url, standin):
    tmp = tmp_path_factory.mktemp("e2e")
    s = Stack(tmp, redis_url, standin.url)
    stack.train(s.env)
    for step in ("db-upgrade", "seed-demo"):
        subprocess.run([sys.executable, "-m", "backend", step], cwd=stack.ROOT, env=s.env, check=True)
    for name in ("actions", "rasa", "worker", "webhook"):
        s.start(name)
    try:
        s.wait_rasa()
        stack.wait_http(f"http://127.0.0.1:{s.ports.actions}/health", 60, s.procs["actions"])
        stack.wait_http(f"{s.base_url}/healthz", 60, s.procs["webhook"])
    except Exception:
        print(s.logs())
        raise
    yield s
    for name in list(s.procs):
        s.stop(name)


@pytest.fixture
def db_session(system):
    from backend.db import get_engine, session_scope

    with session_scope(get_engine(f"sqlite:///{system.db_path}")) as session:
        yield session


@pytest.fixture(params=["plain", "aes"])
def wechat(request, system):
    return WeChat(system.base_url, TOKEN, AES_KEY, APPID, mode=request.param)
