"""Job names and the worker's periodic schedule, in one place.

RQ finds a job by its dotted path, so these strings are the contract between the code that
enqueues and the function that runs; a rename changes them here and nowhere else
(tests/infra/test_schedule.py checks that each one resolves to a function).
"""

from __future__ import annotations

# Jobs enqueued by the code.
SEND_OUTBOUND = "backend.messaging.delivery.send_outbound"
BROADCAST = "backend.messaging.outages.broadcast"
DISPATCH_TICKET = "backend.work.dispatch.dispatch_ticket"
UNREACHABLE = "backend.work.dispatch.unreachable_job"
FETCH_PHOTO = "backend.work.photo_fetch.fetch_inspection_photo"  # a WeChat 巡查 photo, kept

# Periodic sweeps: each picks up what a lost job or a passing deadline left behind.
RETRY_PENDING = "webhook.conversation.retry_pending"  # owners' messages kept while Rasa was away
SWEEP_QUEUED = "backend.messaging.delivery.sweep_queued"  # outbound messages whose job was lost
DISPATCH_SWEEP = "backend.work.dispatch.sweep"  # undispatched tickets, unacknowledged offers
OUTAGE_SWEEP = "backend.messaging.outages.sweep"  # reminders before a cut, "restored" after
SLA_SWEEP = "backend.service.sla_sweep.sweep"  # the service standard's clocks
PHOTO_SWEEP = "backend.work.photo_fetch.sweep"  # WeChat 巡查 photos whose fetch job was lost

# (seconds between runs, job)
PERIODIC = (
    (3, RETRY_PENDING),
    (10, SWEEP_QUEUED),
    (5, DISPATCH_SWEEP),
    (15, OUTAGE_SWEEP),
    (15, SLA_SWEEP),
    (60, PHOTO_SWEEP),
)


def worker_args(periodic=PERIODIC) -> list[str]:
    """The worker's `--every SECONDS:job` arguments for `periodic`."""
    return [arg for every, job in periodic for arg in ("--every", f"{every}:{job}")]
