"""`make bench`: webhook latency and throughput through the whole stack, how one owner's reply
time depends on their history (scripts/bench_history.py), NLU parse time, and how fast a new
ticket's task reaches the technician (scripts/bench_staff.py).

Starts the system on free ports (real Rasa, actions, worker, webhook, Redis; WeChat API stand-in),
on SQLite and on PostgreSQL, with one and two Rasa servers; drives /wechat with 8 concurrent
senders speaking signed XML; writes docs/BENCHMARKS.md. `--profile` also samples every process
with py-spy during the saturation run and prints where each spends its time.

    python scripts/bench.py [--only sqlite1,sqlite2,pg1,pg2] [--no-history] [--profile]
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import requests  # noqa: E402

from scripts import bench_history, bench_staff, stack  # noqa: E402
from scripts.wechat_standin import StandIn  # noqa: E402
from tests.e2e.wx import WeChat  # noqa: E402

SENDERS = 8
CONVERSATIONS_PER_SENDER = 6
# One owner's conversation: questions and a whole repair, as owners type them.
SCRIPT = [
    "你好",
    "物业电话多少",
    "明天停水吗",
    "我的报修到哪一步了",
    "厨房水管漏水了",
    "幸福里花园3-2-501",
    "明天上午",
    "13812345678",
    "确认",
    "谢谢",
]
TOKEN, AES_KEY, APPID = bench_staff.TOKEN, bench_staff.AES_KEY, bench_staff.APPID
EARLIER = 60  # messages each throughput owner has sent before (a realistic, not a fresh, owner)
RATE = 50.0  # messages/s offered in the paced run: the aim
CONFIGS = {"sqlite1": ("SQLite", 1), "sqlite2": ("SQLite", 2), "pg1": ("PostgreSQL", 1), "pg2": ("PostgreSQL", 2)}
POSTGRES_URL = (
    os.environ.get("BENCH_POSTGRES_URL")
    or os.environ.get("TEST_POSTGRES_URL")
    or "postgresql://postgres@127.0.0.1:5432/test"
)
HEADING = "## Webhook: owner message in, passive reply out"


def pct(values, q):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def owners_for(system, store, turns, tag: str) -> list[list[str]]:
    """Every sender's owners, each seeded with EARLIER messages of history."""
    owners = [
        [f"o-bench-{tag}-{n}-{c}-{int(time.time())}" for c in range(CONVERSATIONS_PER_SENDER)] for n in range(SENDERS)
    ]
    for mine in owners:
        for openid in mine:
            bench_history.seed_owner(system, store, turns, openid, EARLIER, None)
    return owners


def drive(system, owners: list[list[str]], rate: float = 0.0) -> dict:
    """All senders at once. rate > 0: one Poisson stream of `rate` messages a second in all (random,
    exponential gaps, as independent owners send them), dealt to the senders in turn; a sender
    whose previous answer comes after its next message was due sends at once, so a slow system
    shows as a lower rate. 0: each sender sends the next as soon as it has the answer
    (saturation)."""
    latencies, late, errors = [], [0], [0]
    lock = threading.Lock()
    load_before = os.getloadavg()[0]
    total = sum(len(mine) for mine in owners) * len(SCRIPT)
    start = time.monotonic() + 0.5  # the first message is due once the threads are going
    schedule: list[list[float]] = [[] for _ in range(SENDERS)]
    if rate:
        rng, at = random.Random(7), start
        for k in range(total):
            at += rng.expovariate(rate)
            schedule[k % SENDERS].append(at)

    def sender(n: int):
        wx = WeChat(system.base_url, TOKEN, AES_KEY, APPID, "aes" if n % 2 else "compat")
        due = iter(schedule[n])
        for owner in owners[n]:
            for text in SCRIPT:
                if rate:
                    time.sleep(max(0.0, next(due, 0.0) - time.monotonic()))
                try:
                    reply, took = wx.say(owner, text)
                except Exception as exc:  # noqa: BLE001
                    with lock:
                        errors[0] += 1
                    print(f"error from sender {n} ({wx.mode}) on {text!r}: {exc!r}", file=sys.stderr, flush=True)
                    continue
                with lock:
                    latencies.append(took * 1000)
                    if reply is None or took > 4.5:
                        late[0] += 1

    cpu_before = cpu_seconds(system)
    started = start if rate else time.monotonic()
    threads = [threading.Thread(target=sender, args=(n,)) for n in range(SENDERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - started
    cpu_after = cpu_seconds(system)
    tickets = tickets_of(system, [o for mine in owners for o in mine])
    cpu = {
        name: (cpu_after.get(name, 0) - cpu_before.get(name, 0)) * 1000 / max(1, len(latencies)) for name in cpu_after
    }
    return {
        "n": len(latencies),
        "elapsed": elapsed,
        "latencies": latencies,
        "late": late[0],
        "errors": errors[0],
        "load": (load_before, os.getloadavg()[0]),
        "cpu_ms": cpu,
        "owners": sum(len(mine) for mine in owners),
        "tickets": tickets,
    }


def tickets_of(system, openids: list[str]) -> int:
    """Tickets the run's owners raised: each conversation reports one repair, so one each, or the
    figures measured a conversation that went astray."""
    from sqlalchemy import bindparam, create_engine, text

    engine = create_engine(system.database_url, future=True)
    try:
        with engine.connect() as conn:
            return conn.execute(
                text("SELECT count(*) FROM tickets WHERE openid IN :ids").bindparams(bindparam("ids", expanding=True)),
                {"ids": openids},
            ).scalar_one()
    finally:
        engine.dispose()


def cpu_seconds(system) -> dict[str, float]:
    """CPU time (user + system) each of the system's processes has used so far, children
    (gunicorn's workers) included. Unlike wall time, other work on the machine does not count."""
    import psutil

    out = {}
    for name, proc in system.procs.items():
        kind = "rasa" if name.startswith("rasa") else name
        try:
            procs = [psutil.Process(proc.pid)]
            procs += procs[0].children(recursive=True)
        except psutil.NoSuchProcess:
            continue
        for p in procs:
            try:
                t = p.cpu_times()
            except psutil.NoSuchProcess:
                continue
            out[kind] = out.get(kind, 0.0) + t.user + t.system
    return out


def warm_up(system) -> None:
    """The first turns load caches in every process (and gunicorn's workers)."""
    warm = WeChat(system.base_url, TOKEN, AES_KEY, APPID, "aes")
    for n in range(2):
        for text in SCRIPT:
            warm.say(f"o-bench-warmup-{n}-{time.time_ns()}", text)


def nlu_parse_times(system) -> list[float]:
    from rasa.shared.nlu.training_data.loading import load_data

    texts = [m.get("text") for m in load_data(str(ROOT / "nlu" / "heldout")).intent_examples]
    http = requests.Session()
    times = []
    for text in texts:
        started = time.perf_counter()
        http.post(
            f"http://127.0.0.1:{system.ports.rasa}/model/parse",
            params={"token": system.rasa_token},
            json={"text": text},
            timeout=10,
        ).raise_for_status()
        times.append((time.perf_counter() - started) * 1000)
    return times


# --- profiling: py-spy on every process while the saturation run goes --------------------------------
def start_profiles(system, out: Path, seconds: int) -> list[tuple[str, subprocess.Popen, Path]]:
    import psutil

    spies = []
    for name, proc in system.procs.items():
        if name == "console":
            continue
        pids = [proc.pid] + [c.pid for c in psutil.Process(proc.pid).children(recursive=True)]
        for pid in pids:
            if "python" not in " ".join(psutil.Process(pid).cmdline()[:1]):
                continue
            path = out / f"{name}-{pid}.txt"
            spy = subprocess.Popen(
                [
                    str(stack.BIN / "py-spy"),
                    "record",
                    "--pid",
                    str(pid),
                    "--duration",
                    str(seconds),
                    "--rate",
                    "200",
                    "--format",
                    "raw",
                    "-o",
                    str(path),
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            spies.append((name, spy, path))
    return spies


def summarise_profiles(spies, top: int = 40) -> str:
    """Per kind of process (both webhook workers together, every Rasa server together): the share
    of on-CPU samples under each costly function, leaving out the frames nearly every sample
    passes through (thread and server bootstrap), and the functions that were running themselves
    (leaf frames)."""
    from collections import Counter

    # py-spy cannot tell idle threads here, so samples that end waiting are left out by name:
    # a pool thread waiting for work, a socket read, an event loop's select, gunicorn's arbiter.
    waits = {
        "_worker (thread.py)",
        "readinto (socket.py)",
        "_read_from_socket (connection.py)",
        "wait_for_signals (arbiter.py)",
        "serve (runners.py)",
        "work (scheduler.py)",
        "wait (locks.py)",
        "wait (threading.py)",
        "select (selectors.py)",
        "sleep (time)",
    }

    def label(frame: str) -> str:
        name, _, where = frame.partition(" (")
        return f"{name} ({where.split(':')[0].rsplit('/', 1)[-1]}" + (")" if where else "")

    kinds: dict[str, tuple[int, Counter, Counter]] = {}
    for name, spy, path in spies:
        spy.wait()
        if not path.exists():
            continue
        kind = "rasa" if name.startswith("rasa") else name
        total, inclusive, leaves = kinds.get(kind, (0, Counter(), Counter()))
        for line in path.read_text(errors="replace").splitlines():
            stack_text, _, count = line.rpartition(" ")
            if not count.isdigit():
                continue
            frames = [label(f) for f in stack_text.split(";") if f]
            n = int(count)
            if not frames or frames[-1] in waits:
                continue
            total += n
            for frame in set(frames):
                inclusive[frame] += n
            if frames:
                leaves[frames[-1]] += n
        kinds[kind] = (total, inclusive, leaves)
    lines = []
    for kind, (total, inclusive, leaves) in kinds.items():
        if not total:
            continue
        lines.append(f"--- {kind}: {total} samples on CPU")
        shown = [(f, n) for f, n in inclusive.most_common() if n < 0.9 * total][:top]
        for frame, n in shown:
            lines.append(f"  {100 * n / total:5.1f}%  {frame}")
        lines.append("  self:")
        for frame, n in leaves.most_common(top // 2):
            lines.append(f"  {100 * n / total:5.1f}%  {frame}")
    return "\n".join(lines)


# --- one configuration --------------------------------------------------------------------------------
def new_postgres_database() -> tuple[str, callable]:
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    admin_url = make_url(POSTGRES_URL)
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT", future=True)
    name = f"wuye_bench_{os.getpid()}_{int(time.time())}"
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')

    def drop():
        from backend.core.db import dispose_engines

        dispose_engines()
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()

    return admin_url.set(database=name).render_as_string(hide_password=False), drop


class BenchSystem(stack.System):
    """On a machine shared with other work, loading the model can take longer than the tests allow."""

    def wait_rasa(self) -> None:
        stack.wait_http(f"http://127.0.0.1:{self.ports.rasa}/status", 900, self.procs["rasa"])


def run_config(key: str, tmp: Path, redis_url: str, standin_url: str, profile: bool) -> dict:
    database, servers = CONFIGS[key]
    drop = None
    database_url = None
    if database == "PostgreSQL":
        database_url, drop = new_postgres_database()
    (tmp / key).mkdir(exist_ok=True)
    redis_lib_flush(redis_url)
    system = BenchSystem(
        tmp / key,
        redis_url,
        standin_url,
        wechat=(TOKEN, AES_KEY, APPID),
        rasa_servers=servers,
        rasa_api=True,  # /model/parse for the NLU parse times, with a token
        database_url=database_url,
    )
    print(f"==> {database}, {servers} Rasa server(s): starting", flush=True)
    system.up()
    out = {"system": system, "label": f"{database}, {servers} Rasa server{'s' if servers > 1 else ''}", "drop": drop}
    try:
        warm_up(system)
        wx = WeChat(system.base_url, TOKEN, AES_KEY, APPID, "aes")
        turns = bench_history.template_turns(system, wx, SCRIPT)
        store = bench_history.store_for(system, bench_history.domain())
        print("==> saturation", flush=True)
        owners = owners_for(system, store, turns, f"{key}-sat")
        spies = start_profiles(system, tmp / key, 20) if profile else []
        out["saturation"] = drive(system, owners)
        if spies:
            out["profile"] = summarise_profiles(spies)
            print(out["profile"], flush=True)
        print(f"==> paced at {RATE:.0f} messages/s", flush=True)
        out["paced"] = drive(system, owners_for(system, store, turns, f"{key}-paced"), rate=RATE)
        for part in ("saturation", "paced"):
            print("   ", row(part, out[part]), flush=True)
        out["wx"] = wx
        return out
    except BaseException:
        system.down()
        if drop:
            drop()
        raise


def redis_lib_flush(url: str) -> None:
    import redis

    redis.Redis.from_url(url).flushdb()


def row(label: str, result: dict) -> str:
    lat = result["latencies"]
    load = result["load"]
    return (
        f"| {label} | {result['n']} | {result['n'] / result['elapsed']:.1f} | {statistics.median(lat):.0f} | "
        f"{pct(lat, 95):.0f} | {pct(lat, 99):.0f} | {max(lat):.0f} | {result['late']} | {result['errors']} | "
        f"{result['tickets']} of {result['owners']} | {load[0]:.1f} → {load[1]:.1f} |"
    )


def cpu_table(results: list[tuple[str, dict]]) -> list[str]:
    kinds = ["rasa", "actions", "webhook", "worker"]
    lines = [
        "| configuration, run | " + " | ".join(kinds) + " | all | messages/s two cores could carry at this cost |",
        "|---|" + "---|" * (len(kinds) + 2),
    ]
    for label, result in results:
        cpu = result["cpu_ms"]
        total = sum(cpu.get(k, 0) for k in kinds)
        lines.append(
            f"| {label} | "
            + " | ".join(f"{cpu.get(k, 0):.1f}" for k in kinds)
            + f" | {total:.1f} | {2000 / total:.0f} |"
        )
    return lines


def machine() -> str:
    return (
        f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"load average {os.getloadavg()[0]:.1f} at the start"
    )


def throughput_section(results: list[tuple[str, dict]], started: str) -> str:
    lines = [
        HEADING,
        "",
        f"Measured by `make bench` (scripts/bench.py) on {started}: the whole stack on one machine "
        "(gunicorn webhook, Rasa server(s), one action server, one worker, Redis; SQLite or PostgreSQL).",
        "",
        f"{SENDERS} concurrent senders, each playing {CONVERSATIONS_PER_SENDER} owners through a "
        f"{len(SCRIPT)}-message conversation (greeting, three questions, a whole repair with its ticket, thanks), "
        "as signed WeChat XML, half of them in safe (AES) mode. Every owner has sent "
        f"{EARLIER} messages before (seeded: their conversation window, archive and records, as the system "
        "keeps them; scripts/bench_history.py). *Saturation*: each sender sends its next message the moment "
        f"it has the answer. *Paced*: {RATE:.0f} messages/s offered in all, one Poisson stream (random, "
        "exponential gaps, as independent owners send them) dealt to the senders in turn; a sender whose "
        "answer is late sends its next message at once, so a system that cannot keep up shows a lower rate. "
        "*Tickets raised*: each conversation reports one repair. Latencies in ms, measured at the sender; the last column is the "
        "machine's 1-minute load average before → after the run (other work on the machine shows there).",
        "",
        "| configuration, run | messages | messages/s | p50 | p95 | p99 | max | past 4.5 s or deferred | errors | tickets raised | load before → after |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
        *[row(label, result) for label, result in results],
        "",
        "CPU time per message, by process (ms; user + system, measured over the same runs; Redis and the "
        "database server not included). This is what the work costs whatever else runs on the machine; "
        "the last column is the ceiling two cores would give at that cost, with nothing else running.",
        "",
        *cpu_table(results),
        "",
    ]
    return "\n".join(lines)


def history_section(rows: list[dict], started: str) -> str:
    return "\n".join(
        [
            bench_history.HEADING,
            "",
            f"Measured by `make bench` on {started}, SQLite, one Rasa server, nothing else sent meanwhile. "
            "For each position N, three owners are seeded with N−1 earlier messages (a real conversation's "
            "events repeated: their window in Redis, every event in the archive, every message and reply in "
            f"the database), then each sends the {len(SCRIPT)}-message conversation, one message at a time; "
            "so each row is messages N to N+9 of three owners. *One session*: the history is one long "
            "session (10 s between messages). *Sessions*: a session every 10 messages, two days apart, so "
            "the first measured message starts a new one. Aim: the 1,000th within 1.3× of the 10th.",
            "",
            *bench_history.table(rows, len(SCRIPT)),
            "",
        ]
    )


def nlu_section(parse: list[float]) -> str:
    return "\n".join(
        [
            "## NLU parse time (Rasa HTTP `/model/parse`, held-out texts, one at a time)",
            "",
            "| figure | value |",
            "|---|---|",
            f"| texts | {len(parse)} |",
            f"| p50 | {statistics.median(parse):.1f} ms |",
            f"| p95 | {pct(parse, 95):.1f} ms |",
            f"| p99 | {pct(parse, 99):.1f} ms |",
            "",
        ]
    )


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--only", default=",".join(CONFIGS), help="configurations: " + ",".join(CONFIGS))
    parser.add_argument("--no-history", action="store_true")
    parser.add_argument("--no-staff", action="store_true")
    parser.add_argument("--profile", action="store_true", help="py-spy every process during the saturation runs")
    parser.add_argument("--owners", type=int, default=CONVERSATIONS_PER_SENDER, help="owners per sender and run")
    args = parser.parse_args()
    globals()["CONVERSATIONS_PER_SENDER"] = args.owners
    started = machine()
    tmp = Path(tempfile.mkdtemp(prefix="wuye-bench-"))
    redis_url, redis_proc = stack.scratch_redis(int(os.environ.get("BENCH_REDIS_DB", 14)), tmp)
    standin = StandIn()
    standin_url = standin.start()
    results, parse, staff, history = [], [], None, None
    try:
        for key in args.only.split(","):
            out = run_config(key, tmp, redis_url, standin_url, args.profile)
            system = out["system"]
            try:
                results += [
                    (f"{out['label']}, saturation", out["saturation"]),
                    (f"{out['label']}, paced {RATE:.0f}/s", out["paced"]),
                ]
                if key == "sqlite1":
                    if not args.no_history:
                        print("==> one owner's reply time against their history", flush=True)
                        history = bench_history.measure(system, out["wx"], SCRIPT)
                    print("==> NLU parse times", flush=True)
                    parse = nlu_parse_times(system)
                    if not args.no_staff:
                        print("==> staff notification latency", flush=True)
                        staff = bench_staff.measure(
                            system, standin, WeChat(system.base_url, TOKEN, AES_KEY, APPID, "aes")
                        )
            finally:
                system.down()
                if out.get("drop"):
                    out["drop"]()
        bench_staff.write_section(throughput_section(results, started), HEADING)
        print(throughput_section(results, started))
        if history:
            bench_staff.write_section(history_section(history, started), bench_history.HEADING)
            print(history_section(history, started))
        if parse:
            bench_staff.write_section(nlu_section(parse), "## NLU parse time")
        if staff is not None:
            bench_staff.write_section(bench_staff.section(staff))
    finally:
        standin.stop()
        if redis_proc:
            redis_proc.terminate()
    return 0


if __name__ == "__main__":
    sys.exit(main())
