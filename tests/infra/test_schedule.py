"""Every job name the code enqueues or the worker runs resolves to a function: a rename that
forgets backend/core/schedule.py fails here, not in production at 3 a.m."""

from __future__ import annotations

import importlib

import pytest

from backend.core import schedule

JOBS = [value for name, value in vars(schedule).items() if name.isupper() and isinstance(value, str)]


@pytest.mark.parametrize("path", JOBS)
def test_job_names_resolve(path):
    module, _, name = path.rpartition(".")
    assert callable(getattr(importlib.import_module(module), name))


def test_the_worker_arguments_cover_every_periodic_job():
    args = schedule.worker_args()
    assert args[::2] == ["--every"] * len(schedule.PERIODIC)
    assert {a.split(":", 1)[1] for a in args[1::2]} == {job for _, job in schedule.PERIODIC}
    assert schedule.SLA_SWEEP in JOBS and len(JOBS) == 11
