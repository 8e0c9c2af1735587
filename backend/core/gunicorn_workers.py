"""gunicorn worker hooks for the webhook and the console (their gunicorn_conf modules use them).

When gunicorn's master is killed (kill -9, the OOM killer), its workers would live on for many
seconds (until they notice, and until turns in flight end), holding the port, so the master the
supervisor starts again cannot bind it. Each worker asks the kernel for SIGTERM when its master
dies, and lets go of the listening socket as soon as it stops taking requests.
"""

from __future__ import annotations

import ctypes
import os
import signal

PR_SET_PDEATHSIG = 1


def post_fork(server, worker):
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        return  # not Linux: the worker notices its master's death by itself, later
    if os.getppid() != server.pid:  # the master died before the request above
        os.kill(os.getpid(), signal.SIGTERM)


def worker_exit(server, worker):
    for sock in worker.sockets:  # requests in hand finish; the port is free for the new master
        try:
            sock.close()
        except OSError:
            pass
