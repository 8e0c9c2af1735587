"""`make run` restarts a child that died; the others keep running (scripts/run.py KeepAlive)."""

from __future__ import annotations

import os
import signal
import subprocess
import time

from scripts.run import KeepAlive


def _sleeper(name: str) -> subprocess.Popen:
    return subprocess.Popen(["sleep", "300"], start_new_session=True)


def test_a_killed_child_is_started_again_and_the_others_are_left_alone():
    procs = {name: _sleeper(name) for name in ("webhook", "rasa", "actions", "worker")}
    said: list[str] = []
    keeper = KeepAlive(procs, _sleeper, said.append)
    before = {name: p.pid for name, p in procs.items()}
    try:
        os.kill(procs["actions"].pid, signal.SIGKILL)
        procs["actions"].wait()
        deadline = time.monotonic() + 10
        while procs["actions"].poll() is not None and time.monotonic() < deadline:
            keeper.tend()
            time.sleep(0.1)
        assert procs["actions"].poll() is None and procs["actions"].pid != before["actions"]
        assert {n: p.pid for n, p in procs.items() if n != "actions"} == {
            n: before[n] for n in before if n != "actions"
        }
        assert all(p.poll() is None for p in procs.values())
        assert said and "actions exited with -9" in said[0] and "others keep serving" in said[0]
    finally:
        for p in procs.values():
            p.kill()
            p.wait()


def test_a_child_that_keeps_dying_waits_longer_each_time():
    now = [0.0]
    procs = {"rasa": subprocess.Popen(["true"])}
    procs["rasa"].wait()
    keeper = KeepAlive(
        procs, lambda name: (p := subprocess.Popen(["true"]), p.wait())[0], lambda _: None, clock=lambda: now[0]
    )
    waits = []
    for _ in range(7):
        keeper.tend()  # notices the exit, schedules the start
        waits.append(keeper.wait["rasa"])
        now[0] += keeper.wait["rasa"]
        keeper.tend()  # starts it (it dies at once again)
    assert waits == [1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0]
    assert keeper.restarts["rasa"] == 7
    now[0] += KeepAlive.STABLE  # this time it had stayed up a minute before it died
    keeper.started["rasa"] = 0.0
    keeper.tend()
    assert keeper.wait["rasa"] == 0.0
