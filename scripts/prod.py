"""The production launcher: every process of one node under supervisord, restarted on a crash.

    .venv/bin/python -m scripts.prod start     # migrate, train if needed, start; returns when all serve
    .venv/bin/python -m scripts.prod status    # each process: RUNNING / STARTING / BACKOFF, pid, uptime
    .venv/bin/python -m scripts.prod stop      # stop everything (each finishes what it has in hand)
    .venv/bin/python -m scripts.prod restart webhook   # one process (or `all`), e.g. after an upgrade

It reads the same settings as every process (README); unlike `make run` it starts no Redis and
no demo data: REDIS_URL and DATABASE_URL must point at the real ones. The supervisord config is
rendered from scripts/stack.py into var/supervisor/ (deploy/supervisord.conf is the same,
rendered for /opt/wuye); logs go to var/logs/, rotated at 20 MB.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from scripts import deploy, stack  # noqa: E402


def layout(var_dir: Path, ports: stack.Ports, model: str, workers: int) -> deploy.Layout:
    return deploy.Layout(
        root=str(stack.ROOT),
        venv_bin=str(stack.BIN),
        log_dir=str(var_dir / "logs"),
        run_dir=str(var_dir / "supervisor"),
        model=model,
        ports=ports,
        workers=workers,
    )


class Node:
    """One node's supervisord: its config file, its socket, its programs."""

    def __init__(
        self,
        var_dir: Path,
        ports: stack.Ports,
        env: dict,
        model: str = "models",
        names: list[str] | None = None,
        workers: int = 1,
    ):
        self.var_dir, self.ports, self.env, self.names = var_dir, ports, env, names
        self.layout = layout(var_dir, ports, model, workers)
        self.conf = var_dir / "supervisor" / "supervisord.conf"
        self.proc: subprocess.Popen | None = None

    def write_conf(self) -> None:
        for d in (self.layout.run_dir, self.layout.log_dir):
            Path(d).mkdir(parents=True, exist_ok=True)
        self.conf.write_text(deploy.supervisor_conf(self.layout, self.names))

    def start(self, foreground_child: bool = False) -> None:
        """Start supervisord. foreground_child: keep it as our child (tests kill it outright)."""
        self.write_conf()
        argv = [str(stack.BIN / "supervisord"), "-c", str(self.conf)]
        if foreground_child:
            self.proc = subprocess.Popen(
                argv + ["-n"],
                cwd=stack.ROOT,
                env=self.env,
                start_new_session=True,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        else:
            subprocess.run(argv, cwd=stack.ROOT, env=self.env, check=True)
        deadline = time.monotonic() + 20
        while not Path(self.layout.run_dir, "supervisor.sock").exists():
            if time.monotonic() > deadline:
                raise RuntimeError(f"supervisord did not start; see {self.layout.log_dir}/supervisord.log")
            time.sleep(0.1)

    def rpc(self):
        from xmlrpc.client import ServerProxy

        from supervisor.xmlrpc import SupervisorTransport

        sock = f"unix://{self.layout.run_dir}/supervisor.sock"
        return ServerProxy("http://127.0.0.1", transport=SupervisorTransport(None, None, sock)).supervisor

    def info(self) -> dict[str, dict]:
        """By process name: webhook, rasa, worker (or worker-1, worker-2… with several)."""
        return {p["name"]: p for p in self.rpc().getAllProcessInfo()}

    def pid(self, name: str) -> int:
        return self.info()[name]["pid"]

    def wait_serving(self, timeout: float = 300) -> None:
        for name in stack.commands(self.ports, self.layout.model):
            if self.names is not None and name not in self.names:
                continue
            url = stack.health_url(self.ports, name)
            if url:
                stack.wait_http(url, timeout)

    def ctl(self, *args: str) -> int:
        return subprocess.run([str(stack.BIN / "supervisorctl"), "-c", str(self.conf), *args], env=self.env).returncode

    def shutdown(self) -> None:
        try:
            self.rpc().shutdown()
        except Exception:  # noqa: BLE001 - already gone
            pass
        if self.proc is not None:
            try:
                self.proc.wait(timeout=90)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def _node() -> Node:
    from backend.core.config import VAR_DIR, load_settings

    settings = load_settings()
    ports = stack.Ports.from_env()
    env = stack.child_env(ports, {"REDIS_URL": settings.redis_url})
    return Node(Path(VAR_DIR), ports, env, model="models", workers=settings.workers)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Run one node under supervisord.")
    parser.add_argument("command", choices=["start", "status", "stop", "restart"])
    parser.add_argument("name", nargs="?", default="all")
    args = parser.parse_args(argv)
    node = _node()
    if args.command == "start":
        if Path(node.layout.run_dir, "supervisor.sock").exists() and node.ctl("pid") == 0:
            print("already running; `python -m scripts.prod status`")
            return 0
        subprocess.run([sys.executable, "-m", "backend", "db-upgrade"], cwd=stack.ROOT, env=node.env, check=True)
        stack.train(node.env)
        node.start()
        print(f"supervisord started ({node.conf}); waiting until every process serves…", flush=True)
        node.wait_serving()
        return node.ctl("status")
    if args.command == "status":
        return node.ctl("status")
    if args.command == "restart":
        return node.ctl(
            "restart", "all" if args.name == "all" else f"{args.name}:*" if args.name == "worker" else args.name
        )
    node.ctl("shutdown")
    return 0


if __name__ == "__main__":
    sys.exit(main())
