import threading
import time
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from backend.core.clock import SHANGHAI
from backend.core.db import session_scope
from backend.core.models import Building, Community, House, Ticket, TicketCounter, TicketPhoto
from backend.text.addresses import Address
from backend.work.ticket_status import StatusError, move
from backend.work.tickets import (
    EMERGENCY_ON_SITE,
    RepairRequest,
    add_step,
    attach_photo,
    create_repair,
    find_by_number,
    tickets_for,
)

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=SHANGHAI)


def request(**kw) -> RepairRequest:
    values = dict(openid="o-owner", description="厨房水龙头漏水", contact_phone="13800001001")
    values.update(kw)
    return RepairRequest(**values)


@pytest.fixture
def house(session):
    community = Community(code="XFL", name="幸福里花园", service_grade=2)
    building = Building(community=community, code="3", name="3栋")
    house = House(building=building, unit="2", room="501")
    session.add_all([community, building, house])
    session.commit()
    return house


def test_numbers_run_per_beijing_day(session):
    first = create_repair(session, request(), now=NOW)
    second = create_repair(session, request(), now=NOW + timedelta(hours=1))
    # 16:30 UTC is already 00:30 on the 24th in Beijing: a new day, a new sequence.
    next_day = create_repair(session, request(), now=datetime(2026, 11, 23, 16, 30, tzinfo=timezone.utc))
    session.commit()
    assert [first.number, second.number, next_day.number] == ["BX261123001", "BX261123002", "BX261124001"]


def test_repair_fields_steps_and_photos(session, house):
    ticket = create_repair(
        session,
        request(
            address=Address("3", "2", "501"),
            place="厨房",
            facility="水龙头",
            house_id=house.id,
            preferred_time_label="明天上午",
            preferred_start=datetime(2026, 11, 24, 9, 0, tzinfo=SHANGHAI),
            photos=[("http://img/1.jpg", "m1"), ("http://img/2.jpg", None)],
            source_key="turn-1",
        ),
        now=NOW,
    )
    session.commit()
    session.expunge_all()
    ticket = session.get(Ticket, ticket.id)
    assert ticket.kind == "repair" and ticket.status == "new"
    assert ticket.community_id == house.building.community_id
    assert (ticket.building_code, ticket.unit, ticket.room) == ("3", "2", "501")
    assert ticket.location_label == "3栋2单元501 厨房"
    assert ticket.urgency == "normal"
    assert ticket.due_at == datetime(2026, 11, 24, 9, 0, tzinfo=SHANGHAI)
    assert ticket.created_at == NOW and ticket.created_at.tzinfo is not None
    assert [(s.kind, s.actor) for s in ticket.steps] == [
        ("created", "owner:o-owner"),
        ("photo_added", "owner:o-owner"),
        ("photo_added", "owner:o-owner"),
    ]
    assert [(p.url, p.media_id) for p in ticket.photos] == [("http://img/1.jpg", "m1"), ("http://img/2.jpg", None)]


def test_urgent_repair_is_due_in_30_minutes(session):
    ticket = create_repair(
        session,
        request(description="电梯困人", urgency="urgent", urgency_reason="电梯困人", place="电梯"),
        now=NOW,
    )
    assert ticket.due_at == NOW + EMERGENCY_ON_SITE == NOW + timedelta(minutes=30)
    assert ticket.urgency_reason == "电梯困人"


def test_normal_repair_without_time_has_no_due(session):
    assert create_repair(session, request(), now=NOW).due_at is None


def test_unknown_urgency_is_refused(session):
    with pytest.raises(ValueError):
        create_repair(session, request(urgency="high"), now=NOW)


@pytest.mark.parametrize(
    "address,place,label",
    [
        (Address("3", "2", "501"), "厨房", "3栋2单元501 厨房"),
        (Address("3", "2", "501"), None, "3栋2单元501"),
        (Address("3", "2", "501"), "楼道", "3栋2单元 楼道"),
        (Address("3", "2", "501"), "地下车库B2", "地下车库B2"),
        (None, "地下车库B2", "地下车库B2"),
        (None, "东门", "东门"),
        (None, None, ""),
    ],
)
def test_location_label(session, address, place, label):
    assert create_repair(session, request(address=address, place=place), now=NOW).location_label == label


def test_house_fills_the_address(session, house):
    ticket = create_repair(session, request(house_id=house.id, place="卫生间"), now=NOW)
    assert ticket.location_label == "3栋2单元501 卫生间"
    assert ticket.room == "501"


def test_same_source_key_gives_the_same_ticket(session):
    first = create_repair(session, request(source_key="turn-42"), now=NOW)
    session.commit()
    again = create_repair(session, request(source_key="turn-42", description="changed"), now=NOW)
    session.commit()
    assert again.id == first.id and again.description == "厨房水龙头漏水"
    assert session.execute(select(func.count()).select_from(Ticket)).scalar_one() == 1
    # and no number was used up by the retry
    assert create_repair(session, request(), now=NOW).number == "BX261123002"


def _race(engine, make_first, make_second):
    """Run make_first in a transaction that stays open until make_second is blocked on it."""
    created, go = threading.Event(), threading.Event()
    results, errors = {}, []

    def first():
        try:
            with session_scope(engine) as s:
                results["a"] = make_first(s)
                created.set()
                go.wait(10)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
            created.set()

    def second():
        try:
            with session_scope(engine) as s:
                results["b"] = make_second(s)
        except Exception as exc:  # pragma: no cover
            errors.append(exc)

    a = threading.Thread(target=first)
    a.start()
    assert created.wait(10)
    b = threading.Thread(target=second)
    b.start()
    time.sleep(0.5)  # let the second transaction reach the lock the first one holds
    go.set()
    a.join(15)
    b.join(15)
    assert not errors, errors
    return results


def test_two_connections_racing_get_distinct_numbers(engine):
    results = _race(
        engine,
        lambda s: create_repair(s, request(openid="o-a"), now=NOW).number,
        lambda s: create_repair(s, request(openid="o-b"), now=NOW).number,
    )
    assert sorted(results.values()) == ["BX261123001", "BX261123002"]


def test_two_connections_racing_on_one_source_key_make_one_ticket(engine):
    results = _race(
        engine,
        lambda s: create_repair(s, request(source_key="dup"), now=NOW).id,
        lambda s: create_repair(s, request(source_key="dup"), now=NOW).id,
    )
    assert results["a"] == results["b"]
    with session_scope(engine) as s:
        assert s.execute(select(func.count()).select_from(Ticket)).scalar_one() == 1
        assert create_repair(s, request(), now=NOW).number == "BX261123002"


def test_many_threads_many_tickets(engine):
    barrier = threading.Barrier(2)
    numbers, errors = [], []

    def worker(tag):
        try:
            barrier.wait(10)
            for _ in range(10):
                with session_scope(engine) as s:
                    numbers.append(create_repair(s, request(openid=tag), now=NOW).number)
        except Exception as exc:  # pragma: no cover
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(f"o-{i}",)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    assert sorted(numbers) == [f"BX261123{i:03d}" for i in range(1, 21)]
    with session_scope(engine) as s:
        counter = s.execute(select(TicketCounter)).scalar_one()
        assert (counter.prefix, counter.last_seq) == ("BX", 20)


def test_attach_photo_goes_to_the_latest_open_ticket(session):
    older = create_repair(session, request(), now=NOW - timedelta(hours=2))
    latest = create_repair(session, request(), now=NOW - timedelta(hours=1))
    create_repair(session, request(openid="o-other"), now=NOW)
    session.commit()
    ticket = attach_photo(session, "o-owner", "http://img/3.jpg", "m3", now=NOW)
    session.commit()
    assert ticket.id == latest.id
    assert [p.url for p in latest.photos] == ["http://img/3.jpg"]
    assert latest.steps[-1].kind == "photo_added"
    assert latest.updated_at == NOW
    assert older.photos == []


def test_attach_photo_skips_finished_and_old_tickets(session):
    done = create_repair(session, request(), now=NOW - timedelta(hours=1))
    done.status = "done"
    create_repair(session, request(), now=NOW - timedelta(hours=25))
    session.commit()
    assert attach_photo(session, "o-owner", "http://img/x.jpg", None, now=NOW) is None
    assert attach_photo(session, "o-nobody", "http://img/x.jpg", None, now=NOW) is None
    assert session.execute(select(func.count()).select_from(TicketPhoto)).scalar_one() == 0


def test_tickets_for_newest_first(session):
    made = [create_repair(session, request(), now=NOW + timedelta(minutes=i)) for i in range(7)]
    create_repair(session, request(openid="o-other"), now=NOW)
    session.commit()
    assert [t.id for t in tickets_for(session, "o-owner")] == [t.id for t in reversed(made)][:5]
    assert len(tickets_for(session, "o-owner", limit=10)) == 7
    assert tickets_for(session, "o-nobody") == []


@pytest.mark.parametrize(
    "query", ["BX261123001", "bx261123001", "261123001", " BX 261123001 ", "ＢＸ２６１１２３００１"]
)
def test_find_by_number(session, query):
    ticket = create_repair(session, request(), now=NOW)
    session.commit()
    assert find_by_number(session, query).id == ticket.id


def test_find_by_number_misses(session):
    create_repair(session, request(), now=NOW)
    session.commit()
    assert find_by_number(session, "BX261123002") is None
    assert find_by_number(session, "") is None


def test_add_step_and_cancel(session):
    ticket = create_repair(session, request(), now=NOW)
    step = add_step(session, ticket, "note", "staff:7", "带了备件", at=NOW + timedelta(minutes=5))
    assert step.ticket_id == ticket.id and ticket.updated_at == NOW + timedelta(minutes=5)
    assert ticket.status == "new"  # a step alone does not move the status
    assert move(session, ticket, "cancelled", "owner:o-owner", "已经自己修好了")
    assert not move(session, ticket, "cancelled", "owner:o-owner")  # twice is fine: nothing changes
    session.commit()
    assert ticket.status == "cancelled"
    assert [s.kind for s in ticket.steps] == ["created", "note", "cancelled"]
    assert ticket.steps[-1].note == "已经自己修好了"


def test_cannot_cancel_finished_work(session):
    ticket = create_repair(session, request(), now=NOW)
    ticket.status = "done"
    with pytest.raises(StatusError):
        move(session, ticket, "cancelled", "owner:o-owner", "不用修了")
