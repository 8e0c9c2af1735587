"""How the processes of the system are started: one place for `make run`, the tests and the bench.

Every process gets the same environment, derived from the settings (REDIS_URL drives Rasa's
tracker and lock stores too), so they always agree on where Redis and the database are.
"""
from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import requests

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
MODELS = ROOT / "models"
TRAIN_ARGS = ["--config", "bot/config.yml", "--domain", "bot/domain", "--data", "bot/data", "nlu/data", "--out", "models"]


@dataclass
class Ports:
    webhook: int = 8000
    rasa: int = 5005
    # More Rasa servers (sharing trackers and locks in Redis) on these ports; RASA_SERVERS=2
    # uses RASA_PORT and RASA_PORT+1.
    more_rasa: tuple = ()
    actions: int = 5055
    console: int = 5002

    @classmethod
    def from_env(cls) -> "Ports":
        return cls(
            webhook=int(os.environ.get("WEBHOOK_PORT", 8000)),
            rasa=int(os.environ.get("RASA_PORT", 5005)),
            more_rasa=tuple(int(os.environ.get("RASA_PORT", 5005)) + i
                            for i in range(1, int(os.environ.get("RASA_SERVERS", 1)))),
            actions=int(os.environ.get("ACTIONS_PORT", 5055)),
            console=int(os.environ.get("CONSOLE_PORT", 5002)),
        )


def child_env(ports: Ports, extra: dict | None = None) -> dict:
    env = dict(os.environ)
    env.update(extra or {})
    redis_url = env.get("REDIS_URL") or "redis://127.0.0.1:6379/0"
    parsed = urlparse(redis_url)
    env.update(
        REDIS_URL=redis_url,
        REDIS_HOST=parsed.hostname or "127.0.0.1",
        REDIS_PORT=str(parsed.port or 6379),
        REDIS_DB=(parsed.path or "/0").lstrip("/") or "0",
        RASA_URL=",".join(f"http://127.0.0.1:{p}" for p in (ports.rasa, *ports.more_rasa)),
        RASA_PORT=str(ports.rasa),
        ACTIONS_PORT=str(ports.actions),
        ACTION_ENDPOINT_URL=f"http://127.0.0.1:{ports.actions}/webhook",
        ACTION_SERVER_URL=f"http://127.0.0.1:{ports.actions}",
        WEBHOOK_PORT=str(ports.webhook),
        CONSOLE_PORT=str(ports.console),
        PYTHONPATH=str(ROOT),
        PYTHONUNBUFFERED="1",
        # Rasa's telemetry would try to reach the internet.
        RASA_TELEMETRY_ENABLED="false",
        TF_CPP_MIN_LOG_LEVEL="2",
        SQLALCHEMY_SILENCE_UBER_WARNING="1",
    )
    return env


def commands(ports: Ports, model: str | None = None) -> dict[str, list[str]]:
    model = model or str(latest_model())
    py = str(BIN / "python")

    def rasa(port: int) -> list[str]:
        return [str(BIN / "rasa"), "run", "--enable-api", "-m", model, "--endpoints", "bot/endpoints.yml",
                "--credentials", "bot/credentials.yml", "-i", "127.0.0.1", "-p", str(port)]

    return {
        "rasa": rasa(ports.rasa),
        **{f"rasa{i + 2}": rasa(port) for i, port in enumerate(ports.more_rasa)},
        "actions": [str(BIN / "rasa"), "run", "actions", "--actions", "actions", "-p", str(ports.actions)],
        "worker": [py, "-m", "backend.worker", "--every", "3:webhook.conversation.retry_pending",
                   "--every", "10:backend.delivery.sweep_queued", "--every", "5:backend.dispatch.sweep",
                   "--every", "15:backend.outages.sweep", "--every", "15:backend.sla.sweep"],
        "webhook": [str(BIN / "gunicorn"), "-w", "2", "--threads", "16", "-b", f"127.0.0.1:{ports.webhook}",
                    "--timeout", "60", "--access-logfile", "-", "webhook.wsgi:app"],
        # The staff console: loopback only; a deployment puts an HTTPS reverse proxy in front.
        "console": [str(BIN / "gunicorn"), "-w", "2", "--threads", "4", "-b", f"127.0.0.1:{ports.console}",
                    "--timeout", "30", "--access-logfile", "-", "console.wsgi:app"],
    }


def start(name: str, argv: list[str], env: dict, log_dir: Path | None = None) -> subprocess.Popen:
    out = open(log_dir / f"{name}.log", "ab") if log_dir else None
    return subprocess.Popen(argv, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT if out else None,
                            start_new_session=True)


def wait_http(url: str, timeout: float, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{url}: process exited with {proc.returncode}")
        try:
            if requests.get(url, timeout=1).status_code < 500:
                return
        except requests.RequestException:
            pass
        time.sleep(0.3)
    raise TimeoutError(f"{url} did not come up in {timeout:.0f} s")


# Everything the model is made from: a change to any of these means a new model.
MODEL_INPUTS = ["bot/config.yml", "bot/domain", "bot/data", "nlu/data", "nlu/dict", "nlu/components"]


def model_fingerprint() -> str:
    import hashlib

    digest = hashlib.sha256()
    for entry in MODEL_INPUTS:
        path = ROOT / entry
        files = sorted(p for p in path.rglob("*") if p.is_file() and "__pycache__" not in p.parts) if path.is_dir() else [path]
        for f in files:
            digest.update(str(f.relative_to(ROOT)).encode())
            digest.update(f.read_bytes())
    return digest.hexdigest()[:16]


def train(env: dict | None = None) -> Path:
    """Train unless a model of exactly these data and config exists (then reuse it)."""
    name = f"model-{model_fingerprint()}"
    model = MODELS / f"{name}.tar.gz"
    if model.exists():
        print(f"Model is up to date: {model.relative_to(ROOT)}", flush=True)
        return model
    subprocess.run([str(BIN / "rasa"), "train", *TRAIN_ARGS, "--fixed-model-name", name], cwd=ROOT,
                   env=env or child_env(Ports.from_env()), check=True)
    for old in MODELS.glob("*.tar.gz"):  # keep the folder from growing with every change
        if old != model:
            old.unlink()
    return model


def latest_model() -> Path:
    model = MODELS / f"model-{model_fingerprint()}.tar.gz"
    if not model.exists():
        raise FileNotFoundError("no model for the current data and config: run `make train`")
    return model


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def scratch_redis(db: int, tmp: Path):
    """An empty Redis database for a bench: the machine's, or the bundled server when none
    answers. Returns (url, process to stop or None)."""
    import redis

    from backend.redis_conn import redis_answers, start_embedded_redis

    url, proc = f"redis://127.0.0.1:6379/{db}", None
    if not redis_answers(url):
        url = f"redis://127.0.0.1:{free_port()}/{db}"
        proc = start_embedded_redis(url, tmp / "redis")
    redis.Redis.from_url(url).flushdb()
    return url, proc


class System:
    """The whole system on free ports with its own SQLite file, for tests and the bench."""

    ADMIN_TOKEN = "e2e-admin-token"

    def __init__(self, tmp: Path, redis_url: str, wechat_api_url: str, wechat: tuple[str, str, str],
                 rasa_servers: int = 1, database_url: str | None = None):
        token, aes_key, appid = wechat
        self.ports = Ports(webhook=free_port(), rasa=free_port(), actions=free_port(), console=free_port(),
                           more_rasa=tuple(free_port() for _ in range(rasa_servers - 1)))
        self.db_path = tmp / "system.db"
        self.database_url = database_url or f"sqlite:///{self.db_path}"  # the bench also runs on PostgreSQL
        self.log_dir = tmp / "logs"
        self.log_dir.mkdir(exist_ok=True)
        self.env = child_env(self.ports, {
            "REDIS_URL": redis_url,
            "DATABASE_URL": self.database_url,
            "WUYE_VAR_DIR": str(tmp / "var"),
            "WECHAT_TOKEN": token, "WECHAT_AES_KEY": aes_key, "WECHAT_APPID": appid,
            "WECHAT_SECRET": "local-secret", "WECHAT_API_BASE_URL": wechat_api_url,
            "ADMIN_API_TOKEN": self.ADMIN_TOKEN,
            # WeChat credentials mean "deployed" to the console: it wants its own key, and the
            # tests reach it over plain http on loopback.
            "CONSOLE_SECRET_KEY": os.urandom(16).hex(), "CONSOLE_COOKIE_SECURE": "0",
        })
        self.procs: dict[str, subprocess.Popen] = {}
        self.base_url = f"http://127.0.0.1:{self.ports.webhook}"
        self.console_url = f"http://127.0.0.1:{self.ports.console}"
        self.model: str | None = None

    def up(self) -> None:
        self.model = str(train(self.env))
        for step in ("db-upgrade", "seed-demo"):
            subprocess.run([sys.executable, "-m", "backend", step], cwd=ROOT, env=self.env, check=True,
                           stdout=subprocess.DEVNULL)
        for name in commands(self.ports, self.model):
            self.start(name)
        try:
            self.wait_rasa()
            for i, port in enumerate(self.ports.more_rasa):
                wait_http(f"http://127.0.0.1:{port}/status", 300, self.procs[f"rasa{i + 2}"])
            wait_http(f"http://127.0.0.1:{self.ports.actions}/health", 60, self.procs["actions"])
            wait_http(f"{self.base_url}/healthz", 60, self.procs["webhook"])
            wait_http(f"{self.console_url}/healthz", 60, self.procs["console"])
        except Exception:
            print(self.logs())
            # The fixture's teardown never runs when up() fails: stop what did start, or its
            # worker lives on and takes other test sessions' jobs from the shared queue.
            self.down()
            raise

    def down(self) -> None:
        for name in list(self.procs):
            self.stop(name)

    def start(self, name: str) -> None:
        self.procs[name] = start(name, commands(self.ports, self.model)[name], self.env, self.log_dir)

    def stop(self, name: str) -> None:
        import signal

        proc = self.procs.pop(name)
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except ProcessLookupError:  # it already exited (and took its group with it)
            proc.wait()
            return
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()

    def wait_rasa(self) -> None:
        wait_http(f"http://127.0.0.1:{self.ports.rasa}/status", 300, self.procs["rasa"])

    def logs(self) -> str:
        return "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-4000:]}" for p in self.log_dir.glob("*.log"))
