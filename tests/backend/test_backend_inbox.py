import threading
import time
from datetime import datetime, timedelta, timezone

from sqlalchemy import func, select

from backend.core.db import session_scope
from backend.core.models import InboundMessage, WechatUser
from backend.messaging import inbox

T0 = datetime(2026, 11, 23, 2, 0, tzinfo=timezone.utc)


def record(session, key, openid="o-1", text="马桶堵了", at=T0):
    return inbox.record_inbound(session, key, openid, "text", text, {"MsgId": key, "Content": text}, at)


def test_record_keeps_the_message_and_the_user(session):
    row, created = record(session, "m1")
    session.commit()
    session.expunge_all()
    row = inbox.get(session, row.id)
    assert created
    assert (row.status, row.attempts, row.text, row.msg_type) == ("pending", 0, "马桶堵了", "text")
    assert row.payload_data == {"MsgId": "m1", "Content": "马桶堵了"}
    assert row.received_at == T0
    user = session.get(WechatUser, "o-1")
    assert user.first_seen_at == T0 and user.last_inbound_at == T0 and user.subscribed


def test_duplicate_returns_the_first_row(session):
    first, _ = record(session, "m1", text="first")
    session.commit()
    again, created = record(session, "m1", text="retry", at=T0 + timedelta(seconds=5))
    assert not created and again.id == first.id and again.text == "first"
    assert session.execute(select(func.count()).select_from(InboundMessage)).scalar_one() == 1


def test_last_inbound_only_moves_forward(session):
    record(session, "m2", at=T0 + timedelta(hours=1))
    record(session, "m1", at=T0)  # an older message that arrived late
    session.commit()
    session.expunge_all()
    user = session.get(WechatUser, "o-1")
    assert user.first_seen_at == T0 + timedelta(hours=1)
    assert user.last_inbound_at == T0 + timedelta(hours=1)
    record(session, "m3", at=T0 + timedelta(hours=2))
    session.commit()
    assert session.get(WechatUser, "o-1").last_inbound_at == T0 + timedelta(hours=2)


def test_concurrent_duplicate_inserts_make_one_row(engine):
    created_first, go = threading.Event(), threading.Event()
    results, errors = {}, []

    def first():
        try:
            with session_scope(engine) as s:
                row, created = record(s, "same")
                results["a"] = (row.id, created)
                created_first.set()
                go.wait(10)
        except Exception as exc:  # pragma: no cover
            errors.append(exc)
            created_first.set()

    def second():
        try:
            with session_scope(engine) as s:
                row, created = record(s, "same")
                results["b"] = (row.id, created)
        except Exception as exc:  # pragma: no cover
            errors.append(exc)

    a = threading.Thread(target=first)
    a.start()
    assert created_first.wait(10)
    b = threading.Thread(target=second)
    b.start()
    time.sleep(0.5)
    go.set()
    a.join(15)
    b.join(15)
    assert not errors, errors
    assert results["a"][1] is True and results["b"] == (results["a"][0], False)
    with session_scope(engine) as s:
        assert s.execute(select(func.count()).select_from(InboundMessage)).scalar_one() == 1


def test_claim_answer(session):
    row, _ = record(session, "m1")
    session.commit()
    assert inbox.claim(session, row.id, now=T0)
    session.commit()
    assert (row.status, row.attempts, row.claimed_at) == ("processing", 1, T0)
    assert not inbox.claim(session, row.id)  # already processing
    inbox.mark_answered(session, row.id, ["收到，已为您登记报修", "工单号 BX261123001"], now=T0 + timedelta(seconds=2))
    session.commit()
    session.expunge_all()
    row = inbox.get(session, row.id)
    assert row.status == "answered" and row.answered_at == T0 + timedelta(seconds=2)
    assert row.replies == ["收到，已为您登记报修", "工单号 BX261123001"]
    assert not inbox.claim(session, row.id)  # answered messages are never taken again


def test_failed_is_claimed_again(session):
    row, _ = record(session, "m1")
    inbox.claim(session, row.id)
    inbox.mark_failed(session, row.id, "rasa timed out")
    session.commit()
    assert (row.status, row.last_error) == ("failed", "rasa timed out")
    assert [m.id for m in inbox.pending(session)] == [row.id]
    assert inbox.claim(session, row.id)
    session.commit()
    assert (row.status, row.attempts) == ("processing", 2)


def test_only_one_of_two_racing_claims_wins(engine):
    with session_scope(engine) as s:
        row_id = record(s, "m1")[0].id
    claimed, go = threading.Event(), threading.Event()
    results = {}

    def first():
        with session_scope(engine) as s:
            results["a"] = inbox.claim(s, row_id)
            claimed.set()
            go.wait(10)

    def second():
        with session_scope(engine) as s:
            results["b"] = inbox.claim(s, row_id)

    a = threading.Thread(target=first)
    a.start()
    assert claimed.wait(10)
    b = threading.Thread(target=second)
    b.start()
    time.sleep(0.5)
    go.set()
    a.join(15)
    b.join(15)
    assert results == {"a": True, "b": False}


def test_release_stale(session):
    stuck, _ = record(session, "m1")
    fresh, _ = record(session, "m2", openid="o-2")
    inbox.claim(session, stuck.id, now=T0)
    inbox.claim(session, fresh.id, now=T0 + timedelta(minutes=9))
    session.commit()
    released = inbox.release_stale(session, timedelta(minutes=5), now=T0 + timedelta(minutes=10))
    session.commit()
    assert released == 1
    assert inbox.get(session, stuck.id).status == "failed"
    assert "released" in inbox.get(session, stuck.id).last_error
    assert inbox.get(session, fresh.id).status == "processing"


def test_pending_oldest_first_in_owner_order(session):
    a1, _ = record(session, "a1", openid="o-a", at=T0)
    b1, _ = record(session, "b1", openid="o-b", at=T0 + timedelta(seconds=1))
    a2, _ = record(session, "a2", openid="o-a", at=T0 + timedelta(seconds=2))
    same_second, _ = record(session, "a3", openid="o-a", at=T0 + timedelta(seconds=2))
    session.commit()
    assert [m.id for m in inbox.pending(session)] == [a1.id, b1.id, a2.id, same_second.id]
    assert [m.id for m in inbox.pending(session, limit=2)] == [a1.id, b1.id]
    # while o-a's first message is being processed, its later ones wait; o-b's do not
    inbox.claim(session, a1.id)
    session.commit()
    assert [m.id for m in inbox.pending(session)] == [b1.id]
    inbox.mark_answered(session, a1.id, ["好的"])
    session.commit()
    assert [m.id for m in inbox.pending(session)] == [b1.id, a2.id, same_second.id]


def test_pending_gives_up_after_max_attempts(session):
    row, _ = record(session, "m1")
    for _ in range(3):
        inbox.claim(session, row.id)
        inbox.mark_failed(session, row.id, "boom")
    session.commit()
    assert inbox.pending(session, max_attempts=3) == []
    assert [m.id for m in inbox.pending(session, max_attempts=4)] == [row.id]


def test_a_message_is_not_taken_while_an_earlier_one_of_its_owner_is_unanswered(session):
    """Failed a moment ago, nobody answering it: the later one still waits behind it (the
    assistant must see one owner's messages in order), and an other owner's does not."""
    first, _ = record(session, "s1", openid="o-s")
    later, _ = record(session, "s2", openid="o-s")
    other, _ = record(session, "s3", openid="o-t")
    inbox.claim(session, first.id)
    inbox.mark_failed(session, first.id, "rasa down")
    session.commit()
    assert not inbox.claim(session, later.id)
    assert not inbox.waits_for_earlier(session, later.id)  # nobody has the first: the sweep will
    assert inbox.claim(session, other.id)
    assert inbox.claim(session, first.id)
    inbox.mark_answered(session, first.id, ["好的"])
    assert inbox.claim(session, later.id)


def test_an_earlier_message_given_up_on_holds_nothing_back(session):
    first, _ = record(session, "g1", openid="o-g")
    later, _ = record(session, "g2", openid="o-g")
    first.attempts = inbox.MAX_ATTEMPTS
    first.status = "failed"
    session.commit()
    assert inbox.claim(session, later.id)
