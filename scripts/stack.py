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

from backend.core import schedule

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
MODELS = ROOT / "models"
TRAIN_ARGS = [
    "--config",
    "bot/config.yml",
    "--domain",
    "bot/domain",
    "--data",
    "bot/data",
    "nlu/data",
    "--out",
    "models",
]


@dataclass
class Ports:
    webhook: int = 8000
    rasa: int = 5005
    # More Rasa servers (sharing trackers and locks in Redis) on these ports; RASA_SERVERS=2
    # uses RASA_PORT and RASA_PORT+1.
    more_rasa: tuple = ()
    actions: int = 5055
    console: int = 5002
    # Where the webhook and the console listen: loopback when the HTTPS proxy is on the same
    # machine, the node's private address when one proxy fronts several nodes.
    host: str = "127.0.0.1"
    # Prometheus metrics and /healthz of each process, loopback only (0: not served).
    webhook_metrics: int = 9200
    worker_metrics: int = 9201
    console_metrics: int = 9202
    actions_metrics: int = 9203

    @classmethod
    def from_env(cls) -> Ports:
        from backend.core.config import load_settings

        s = load_settings()
        return cls(
            webhook=s.webhook_port,
            rasa=s.rasa_port,
            more_rasa=tuple(s.rasa_port + i for i in range(1, s.rasa_servers)),
            actions=s.actions_port,
            console=s.console_port,
            host=s.listen_host,
            webhook_metrics=s.webhook_metrics_port,
            worker_metrics=s.worker_metrics_port,
            console_metrics=s.console_metrics_port,
            actions_metrics=s.actions_metrics_port,
        )


def child_env(ports: Ports, extra: dict | None = None) -> dict:
    import secrets

    env = dict(os.environ)
    env.update(extra or {})
    # Rasa calls the action server with this shared secret (bot/endpoints.yml); a deployment on
    # several hosts sets its own, otherwise each run makes one that only its processes know.
    if not env.get("ACTIONS_TOKEN", "").strip():
        env["ACTIONS_TOKEN"] = secrets.token_urlsafe(24)
    actions_host = env.get("ACTIONS_HOST", "").strip() or "127.0.0.1"
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
        ACTION_ENDPOINT_URL=f"http://{actions_host}:{ports.actions}/webhook",
        ACTION_SERVER_URL=f"http://{actions_host}:{ports.actions}",
        WEBHOOK_PORT=str(ports.webhook),
        CONSOLE_PORT=str(ports.console),
        WEBHOOK_METRICS_PORT=str(ports.webhook_metrics),
        WORKER_METRICS_PORT=str(ports.worker_metrics),
        CONSOLE_METRICS_PORT=str(ports.console_metrics),
        ACTIONS_METRICS_PORT=str(ports.actions_metrics),
        PYTHONPATH=str(ROOT),
        PYTHONUNBUFFERED="1",
        # Rasa's telemetry would try to reach the internet.
        RASA_TELEMETRY_ENABLED="false",
        TF_CPP_MIN_LOG_LEVEL="2",
        SQLALCHEMY_SILENCE_UBER_WARNING="1",
    )
    return env


# gunicorn's access log without the query string: WeChat's signatures, nonces and the owner's
# openid travel in it (%(U)s is the path alone; the default %(r)s is the whole request line).
ACCESS_LOG_FORMAT = '%(h)s "%(m)s %(U)s" %(s)s %(B)s %(M)sms'


def commands(ports: Ports, model: str | None = None, bin_dir: Path | str = BIN) -> dict[str, list[str]]:
    """How each process is started. `bin_dir` is the virtualenv's bin folder (deploy files use the
    installed one, e.g. /opt/wuye/.venv/bin); `model` a model file or a folder (Rasa takes the
    newest in it)."""
    model = model or str(latest_model())
    BIN = Path(bin_dir)  # noqa: N806 (the same name as the module's, for the lines below)
    py = str(BIN / "python")

    def rasa(port: int) -> list[str]:
        # The REST channel only, on loopback; Rasa's HTTP API stays off (scripts/rasa_server.py).
        return [
            py,
            "-m",
            "scripts.rasa_server",
            "-m",
            model,
            "--endpoints",
            "bot/endpoints.yml",
            "--credentials",
            "bot/credentials.yml",
            "-i",
            "127.0.0.1",
            "-p",
            str(port),
        ]

    return {
        "rasa": rasa(ports.rasa),
        **{f"rasa{i + 2}": rasa(port) for i, port in enumerate(ports.more_rasa)},
        # Loopback unless ACTIONS_HOST says otherwise, and then only with ACTIONS_TOKEN.
        "actions": [py, "-m", "actions.server", "-p", str(ports.actions)],
        "worker": [py, "-m", "backend.core.worker", *schedule.worker_args()],
        "webhook": [
            str(BIN / "gunicorn"),
            "-w",
            "2",
            "--threads",
            "16",
            "-b",
            f"{ports.host}:{ports.webhook}",
            "--timeout",
            "60",
            "--access-logfile",
            "-",
            "--access-logformat",
            ACCESS_LOG_FORMAT,
            "-c",
            "python:webhook.gunicorn_conf",
            "webhook.wsgi:app",
        ],
        # The staff console: loopback only; a deployment puts an HTTPS reverse proxy in front.
        "console": [
            str(BIN / "gunicorn"),
            "-w",
            "2",
            "--threads",
            "4",
            "-b",
            f"{ports.host}:{ports.console}",
            "--timeout",
            "30",
            "--access-logfile",
            "-",
            "--access-logformat",
            ACCESS_LOG_FORMAT,
            "-c",
            "python:console.gunicorn_conf",
            "console.wsgi:app",
        ],
    }


def start(name: str, argv: list[str], env: dict, log_dir: Path | None = None) -> subprocess.Popen:
    out = open(log_dir / f"{name}.log", "ab") if log_dir else None
    return subprocess.Popen(
        argv, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT if out else None, start_new_session=True
    )


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
        files = (
            sorted(p for p in path.rglob("*") if p.is_file() and "__pycache__" not in p.parts)
            if path.is_dir()
            else [path]
        )
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
    subprocess.run(
        [str(BIN / "rasa"), "train", *TRAIN_ARGS, "--fixed-model-name", name],
        cwd=ROOT,
        env=env or child_env(Ports.from_env()),
        check=True,
    )
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

    from backend.core.redis_conn import redis_answers, start_embedded_redis

    url, proc = f"redis://127.0.0.1:6379/{db}", None
    if not redis_answers(url):
        url = f"redis://127.0.0.1:{free_port()}/{db}"
        proc = start_embedded_redis(url, tmp / "redis")
    redis.Redis.from_url(url).flushdb()
    return url, proc


class System:
    """The whole system on free ports with its own SQLite file, for tests and the bench."""

    ADMIN_TOKEN = "e2e-admin-token-0123456789"
    ACCOUNT_ID = "gh_e2e_account"

    def __init__(
        self,
        tmp: Path,
        redis_url: str,
        wechat_api_url: str,
        wechat: tuple[str, str, str],
        rasa_servers: int = 1,
        rasa_api: bool = False,
        database_url: str | None = None,
    ):
        import secrets

        token, aes_key, appid = wechat
        self.ports = Ports(
            webhook=free_port(),
            rasa=free_port(),
            actions=free_port(),
            console=free_port(),
            more_rasa=tuple(free_port() for _ in range(rasa_servers - 1)),
            webhook_metrics=free_port(),
            worker_metrics=free_port(),
            console_metrics=free_port(),
            actions_metrics=free_port(),
        )
        self.db_path = tmp / "system.db"
        self.database_url = database_url or f"sqlite:///{self.db_path}"  # the bench also runs on PostgreSQL
        self.log_dir = tmp / "logs"
        self.log_dir.mkdir(exist_ok=True)
        self.env = child_env(
            self.ports,
            {
                "REDIS_URL": redis_url,
                "DATABASE_URL": self.database_url,
                "WUYE_VAR_DIR": str(tmp / "var"),
                "WECHAT_TOKEN": token,
                "WECHAT_AES_KEY": aes_key,
                "WECHAT_APPID": appid,
                "WECHAT_SECRET": "local-secret",
                "WECHAT_API_BASE_URL": wechat_api_url,
                "ADMIN_API_TOKEN": self.ADMIN_TOKEN,
                "WECHAT_ACCOUNT_ID": self.ACCOUNT_ID,
                # WeChat credentials mean "deployed" to the console: it wants its own key, and the
                # tests reach it over plain http on loopback.
                "CONSOLE_SECRET_KEY": os.urandom(16).hex(),
                "CONSOLE_COOKIE_SECURE": "0",
            },
        )
        # Rasa's HTTP API (the bench's /model/parse) only when asked for, and then with a token.
        self.rasa_token = secrets.token_urlsafe(24) if rasa_api else None
        if rasa_api:
            self.env.update(RASA_ENABLE_API="1", RASA_AUTH_TOKEN=self.rasa_token)
        else:
            self.env.pop("RASA_ENABLE_API", None)
        self.procs: dict[str, subprocess.Popen] = {}
        self.base_url = f"http://127.0.0.1:{self.ports.webhook}"
        self.console_url = f"http://127.0.0.1:{self.ports.console}"
        self.model: str | None = None

    def up(self) -> None:
        self.model = str(train(self.env))
        # A throwaway system with (fake) WeChat credentials: the demo data is wanted here.
        for step in (["db-upgrade"], ["seed-demo", "--allow-production"]):
            subprocess.run(
                [sys.executable, "-m", "backend", *step], cwd=ROOT, env=self.env, check=True, stdout=subprocess.DEVNULL
            )
        for name in commands(self.ports, self.model):
            self.start(name)
        try:
            self.wait_rasa()
            for i, port in enumerate(self.ports.more_rasa):
                wait_http(f"http://127.0.0.1:{port}/", 300, self.procs[f"rasa{i + 2}"])
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
        # "/" answers once the model is loaded (Rasa loads it before it starts listening).
        wait_http(f"http://127.0.0.1:{self.ports.rasa}/", 300, self.procs["rasa"])

    def logs(self) -> str:
        return "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-4000:]}" for p in self.log_dir.glob("*.log"))


# --- Supervision: what a supervisor must know of each process --------------------------------------
# scripts/deploy.py renders supervisord, systemd, compose and nginx files from commands() and
# this table, and a test checks deploy/ against them, so the deploy files cannot drift.


@dataclass(frozen=True)
class Supervision:
    health: str | None  # the path its port answers when it serves (None: no HTTP, the worker)
    start_secs: int  # must stay up this long to count as started; dying sooner means backoff
    stop_wait: int  # seconds from SIGTERM (finish what is in hand) to SIGKILL


SUPERVISION = {
    "webhook": Supervision("/healthz", 3, 35),  # gunicorn's graceful timeout is 30 s
    "rasa": Supervision("/status", 10, 20),
    "actions": Supervision("/health", 3, 15),
    "worker": Supervision(None, 3, 30),  # a job in hand finishes; its message is never sent twice
    "console": Supervision("/healthz", 3, 20),
}


def supervision(name: str) -> Supervision:
    return SUPERVISION[name.rstrip("0123456789")]  # rasa2, rasa3… are Rasa servers


def port_of(ports: Ports, name: str) -> int | None:
    if name.startswith("rasa"):
        return ports.rasa if name == "rasa" else ports.more_rasa[int(name[4:]) - 2]
    return {"webhook": ports.webhook, "actions": ports.actions, "console": ports.console}.get(name)


def health_url(ports: Ports, name: str) -> str | None:
    path, port = supervision(name).health, port_of(ports, name)
    if path is None or port is None:
        return None
    host = ports.host if name in ("webhook", "console") and ports.host not in ("0.0.0.0", "") else "127.0.0.1"
    return f"http://{host}:{port}{path}"
