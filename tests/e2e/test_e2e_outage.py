"""Outage notices end to end: staff announce a cut for two of three buildings through /api; only
their bound owners receive it at the WeChat stand-in; the worker SIGKILLed mid-broadcast and
restarted finishes with each owner holding exactly one copy; owners' questions through /wechat
are answered from the notice for their building, and "none" elsewhere."""

from __future__ import annotations

import os
import signal
import time
from collections import Counter
from datetime import datetime, timedelta

import pytest
import requests
from sqlalchemy import select

from backend.core.db import get_engine, session_scope
from backend.core.models import Building, House, OutboundMessage, WechatBinding
from scripts.stack import System
from tests.e2e.conftest import AES_KEY, APPID, TOKEN
from tests.e2e.wx import WeChat, wait_for

PER_BUILDING = 30  # building 8 has 36 homes in the demo
ADMIN = {"Authorization": "Bearer " + System.ADMIN_TOKEN}


@pytest.fixture(scope="module")
def owners(system):
    """30 bound owners in each of buildings 3, 8 and 12."""
    made = {}
    with session_scope(get_engine(f"sqlite:///{system.db_path}")) as session:
        for code in ("3", "8", "12"):
            houses = (
                session.execute(
                    select(House).join(Building).where(Building.code == code).order_by(House.id).limit(PER_BUILDING)
                )
                .scalars()
                .all()
            )
            for n, house in enumerate(houses):
                openid = f"o-outage-{code}-{n}"
                session.add(WechatBinding(openid=openid, house_id=house.id, is_current=True))
                made[openid] = code
    return made


@pytest.fixture
def held_standin(standin):
    """The stand-in made to hang calls; released whatever happens, or every later test's
    messages would hang behind a failure here."""
    yield standin
    standin.release()


def test_only_affected_owners_get_it_once_even_when_the_worker_is_killed(system, held_standin, owners):
    standin = held_standin
    standin.hold_after = len(standin.messages) + 25  # after 25 of ours, calls hang: the worker is mid-call
    tomorrow = (datetime.now() + timedelta(days=1)).strftime("%Y-%m-%d")
    response = requests.post(
        f"{system.base_url}/api/outages",
        headers=ADMIN,
        timeout=10,
        json={
            "community": "XFL",
            "kind": "water",
            "buildings": ["3", "8"],
            "starts_at": f"{tomorrow}T09:00",
            "ends_at": f"{tomorrow}T17:00",
            "reason": "市政管网维修",
        },
    )
    assert response.status_code == 201, response.text
    outage = response.json()
    assert outage["recipients"] == {"per_building": {"3": PER_BUILDING, "8": PER_BUILDING}, "total": 2 * PER_BUILDING}

    wait_for(lambda: standin.holding >= 1, timeout=30, every=0.02)
    time.sleep(0.3)  # let the other sending threads reach their (held) calls too
    worker = system.procs.pop("worker")
    os.killpg(worker.pid, signal.SIGKILL)
    worker.wait()
    standin.release()  # the calls in flight reach "WeChat" after all
    system.start("worker")

    affected = {o for o, code in owners.items() if code in ("3", "8")}

    def delivered():
        got = Counter(m["body"]["touser"] for m in standin.messages if m["body"].get("touser") in owners)
        return got if set(got) >= affected else None

    received = wait_for(delivered, timeout=90, every=0.5)
    time.sleep(3)  # anything sent twice would arrive now
    received = Counter(m["body"]["touser"] for m in standin.messages if m["body"].get("touser") in owners)
    assert received == Counter({o: 1 for o in affected})  # building 12 got nothing

    summary = requests.get(f"{system.base_url}/api/outages/{outage['id']}", headers=ADMIN, timeout=10).json()
    notice = summary["delivery"]["notice"]
    assert notice["total"] == 2 * PER_BUILDING and notice["pending"] <= 4
    assert notice["sent"] + notice["pending"] + notice["unknown"] == 2 * PER_BUILDING
    with session_scope(get_engine(f"sqlite:///{system.db_path}")) as session:
        in_doubt = (
            session.execute(
                select(OutboundMessage.openid).where(
                    OutboundMessage.campaign == f"outage:{outage['id']}:notice",
                    OutboundMessage.status.in_(("sending", "unknown")),
                )
            )
            .scalars()
            .all()
        )
    assert len(in_doubt) <= 4 and all(received[o] == 1 for o in in_doubt)


def test_owners_ask_and_are_answered_from_the_notice(system, owners):
    wx = WeChat(system.base_url, TOKEN, AES_KEY, APPID, mode="compat")
    reply, _ = wx.say("o-outage-3-7", "明天停水吗")
    assert "停水" in reply and "市政管网维修" in reply and "3栋" in reply
    reply, _ = wx.say("o-outage-12-3", "明天停水吗")
    assert "目前没有" in reply and "12栋" in reply
