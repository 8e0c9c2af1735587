"""SLA clocks, complaints, ratings, revisits and the survey, on a frozen clock.

Every backend function takes `now`; sweeps are run at chosen instants around each deadline.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from backend.core.clock import aware_now
from backend.core.models import Complaint, FollowUp, OutboundMessage, Rating, SlaClock, Survey, SurveyAnswer, Ticket
from backend.owners import accounts as owners
from backend.owners import owner_desk
from backend.service import aftercare, complaints, sla, sla_sweep, survey
from backend.work import dispatch, staff_desk, taskflow
from backend.work.staff import add_shift, add_staff
from tests.backend.crew import make_crew, owner_wrote, repair

OWNER = "o-owner"


@pytest.fixture
def crew(session, wechat_env, now):
    crew = make_crew(session, now)
    desk = add_staff(session, "郑客服", "13800002006", "customer_service", "")
    desk.openid = "o-staff-2006"
    add_shift(session, desk, now - timedelta(hours=4), now + timedelta(days=3))
    session.commit()
    crew.desk = desk
    return crew


# Helpers end their read transaction: on SQLite every transaction holds the write lock.
def _ticket(session, ticket_id) -> Ticket:
    session.expire_all()
    ticket = session.get(Ticket, ticket_id)
    ticket.assignee, ticket.steps
    session.commit()
    return ticket


def _clock(session, ticket_id, kind) -> SlaClock:
    session.expire_all()
    clock = sla.get(session, ticket_id, kind)
    session.commit()
    return clock


def _messages(session, openid=None, contains=None) -> list[OutboundMessage]:
    session.expire_all()
    stmt = select(OutboundMessage).order_by(OutboundMessage.id)
    if openid:
        stmt = stmt.where(OutboundMessage.openid == openid)
    rows = [m for m in session.execute(stmt).scalars() if contains is None or contains in m.content]
    session.commit()
    return rows


def _steps(ticket: Ticket, kind: str) -> int:
    return [s.kind for s in ticket.steps].count(kind)


def _complaint(session, crew, at, text="楼上装修太吵了 晚上十点还在砸墙", key=None) -> int:
    ticket = complaints.raise_complaint(
        session,
        complaints.ComplaintRequest(
            openid=OWNER,
            description=text,
            location_label="3栋2单元501附近",
            house_id=crew.house.id,
            community_id=crew.community.id,
            source_key=key,
        ),
        now=at,
    )
    session.commit()
    return ticket.id


def _done(session, crew, tid, at, person=None):
    """Dispatched, on site and finished at `at` (+0, +10, +20 minutes)."""
    ticket = _ticket(session, tid)
    person = person or crew.plumber_a
    dispatch.assign(session, ticket, person, "system", now=at)
    taskflow.arrive(session, person, ticket, at + timedelta(minutes=10))
    taskflow.complete(session, person, ticket, "换了角阀", at + timedelta(minutes=20))
    session.commit()
    return at + timedelta(minutes=20)


# --- SLA: urgent repair on site within 30 minutes ------------------------------------------------
def test_urgent_repair_not_on_site_at_30_minutes_escalates_exactly_once(session, crew, now):
    tid = repair(session, crew, now)
    dispatch.dispatch_ticket(tid, now)
    ticket = _ticket(session, tid)
    taskflow.accept(session, ticket.assignee, ticket, now + timedelta(minutes=2))
    session.commit()

    assert sla_sweep.sweep(now + timedelta(minutes=29, seconds=59))["missed"] == 0
    assert _clock(session, tid, "on_site").outcome is None
    assert sla_sweep.sweep(now + timedelta(minutes=30, seconds=1))["missed"] == 1
    assert sla_sweep.sweep(now + timedelta(minutes=30, seconds=30))["missed"] == 0
    assert sla_sweep.sweep(now + timedelta(hours=3))["missed"] == 0

    clock = _clock(session, tid, "on_site")
    assert clock.outcome == "missed" and clock.due_at == now + timedelta(minutes=30)
    ticket = _ticket(session, tid)
    assert _steps(ticket, "sla_missed") == 1
    told = _messages(session, openid=crew.supervisor.openid, contains="30分钟仍未到场")
    assert len(told) == 1 and told[0].purpose == "task"

    # arriving late is recorded, and does not turn "missed" into "met"
    taskflow.arrive(session, ticket.assignee, ticket, now + timedelta(minutes=41))
    session.commit()
    clock = _clock(session, tid, "on_site")
    assert clock.outcome == "missed" and clock.stopped_at == now + timedelta(minutes=41)


def test_urgent_repair_on_site_in_time_is_met_and_never_escalates(session, crew, now):
    tid = repair(session, crew, now)
    dispatch.dispatch_ticket(tid, now)
    ticket = _ticket(session, tid)
    taskflow.arrive(session, ticket.assignee, ticket, now + timedelta(minutes=30))  # the due instant counts
    session.commit()
    assert sla_sweep.sweep(now + timedelta(hours=1))["missed"] == 0
    assert _clock(session, tid, "on_site").outcome == "met"
    assert not _messages(session, openid=crew.supervisor.openid, contains="未到场")


def test_the_clock_survives_a_restart_it_lives_in_the_database(session, crew, now, db_url):
    from backend.core import db

    tid = repair(session, crew, now)
    sla_sweep.sweep(now + timedelta(minutes=1))  # starts the clock
    db.dispose_engines()  # a new process: nothing in memory
    assert sla_sweep.sweep(now + timedelta(minutes=31))["missed"] == 1
    db.dispose_engines()
    assert sla_sweep.sweep(now + timedelta(minutes=32))["missed"] == 0
    assert _steps(_ticket(session, tid), "sla_missed") == 1


def test_a_normal_repair_is_on_time_within_two_hours_of_the_agreed_start(session, crew, now):
    from backend.text.addresses import Address
    from backend.work.tickets import RepairRequest, create_repair

    def agreed(start, key):
        ticket = create_repair(
            session,
            RepairRequest(
                openid=OWNER,
                description="卫生间灯不亮",
                contact_phone="13800001001",
                facility="灯",
                address=Address("3", "2", "501"),
                house_id=crew.house.id,
                community_id=crew.community.id,
                preferred_time_label="明天下午",
                preferred_start=start,
                source_key=key,
            ),
            now=now,
        )
        session.commit()
        return ticket.id

    start = now + timedelta(days=1)
    on_time, late = agreed(start, "a"), agreed(start, "b")
    for tid, arrival in (
        (on_time, start + timedelta(hours=1, minutes=59)),
        (late, start + timedelta(hours=2, minutes=1)),
    ):
        ticket = _ticket(session, tid)
        dispatch.assign(session, ticket, crew.plumber_a, "system", now=now)
        taskflow.arrive(session, crew.plumber_a, ticket, arrival)
        session.commit()
    assert _clock(session, on_time, "on_site").outcome == "met"
    assert _clock(session, late, "on_site").outcome == "missed"


# --- complaints ------------------------------------------------------------------------------------
def test_a_complaint_gets_a_ts_number_goes_to_customer_service_with_a_2_hour_clock(session, crew, now):
    tid = _complaint(session, crew, now)
    ticket = _ticket(session, tid)
    assert ticket.number.startswith("TS") and ticket.kind == "complaint"
    assert ticket.due_at == now + timedelta(hours=2)
    assert ticket.assignee_id == crew.desk.id and ticket.status == "dispatched"
    assert session.get(Complaint, tid).category == "noise"
    session.commit()
    [task] = _messages(session, openid=crew.desk.openid)
    assert task.channel == "template" and ticket.number in task.content and "办结" in task.content
    fields = {k: v["value"] for k, v in task.template_payload["data"].items()}
    assert fields["keyword1"] == ticket.number and fields["keyword4"] == "投诉"
    clock = _clock(session, tid, "handled")
    assert clock.due_at == now + timedelta(hours=2) and clock.warn_at == now + timedelta(minutes=90)


def test_the_same_message_never_makes_two_complaints(session, crew, now):
    assert _complaint(session, crew, now, key="o-owner:msg-1") == _complaint(session, crew, now, key="o-owner:msg-1")


@pytest.mark.parametrize(
    "text, category",
    [
        ("楼上装修太吵了", "noise"),
        ("保安态度太差了", "staff"),
        ("我的车位被人占了", "parking"),
        ("高空抛物 差点砸到我孩子", "security"),
        ("垃圾好几天没清了 臭死了", "hygiene"),
        ("邻居家的狗一直叫", "neighbours"),
        ("电梯三天两头坏", "facilities"),
        ("我有个建议", "other"),
    ],
)
def test_categories_from_the_owners_words(text, category):
    assert complaints.categorize(text) == category


def test_complaint_handled_at_1h59_is_met_and_at_2h01_is_missed(session, crew, now):
    in_time, late = _complaint(session, crew, now, key="a"), _complaint(session, crew, now, key="b")
    complaints.handle(
        session,
        _ticket(session, in_time),
        crew.desk,
        "已上门提醒楼上业主，晚上十点后停止施工",
        now + timedelta(hours=1, minutes=59),
    )
    session.commit()
    complaints.handle(session, _ticket(session, late), crew.desk, "已协调", now + timedelta(hours=2, minutes=1))
    session.commit()
    assert _clock(session, in_time, "handled").outcome == "met"
    assert _clock(session, late, "handled").outcome == "missed"
    # the owner hears each result
    results = _messages(session, openid=OWNER, contains="已经处理")
    assert len(results) == 2 and "晚上十点后停止施工" in results[0].content


def test_an_open_complaint_goes_to_the_manager_at_1h30_once_then_misses_at_2h(session, crew, now):
    tid = _complaint(session, crew, now)
    assert sla_sweep.sweep(now + timedelta(minutes=89))["warned"] == 0
    assert sla_sweep.sweep(now + timedelta(minutes=91))["warned"] == 1
    assert sla_sweep.sweep(now + timedelta(minutes=100))["warned"] == 0
    warned = _messages(session, openid=crew.supervisor.openid, contains="请督办")
    assert len(warned) == 1 and "还剩29分钟" in warned[0].content
    assert sla_sweep.sweep(now + timedelta(hours=2, seconds=1))["missed"] == 1
    assert sla_sweep.sweep(now + timedelta(hours=3))["missed"] == 0
    assert len(_messages(session, openid=crew.supervisor.openid, contains="超过2小时未办结")) == 1
    assert _clock(session, tid, "handled").outcome == "missed"


def test_customer_service_closes_a_complaint_from_wechat(session, crew, now):
    tid = _complaint(session, crew, now)
    number = _ticket(session, tid).number
    [reply] = staff_desk.answer(session, crew.plumber_a.openid, f"办结 {number} 好的")
    assert "不在您名下" in reply
    [reply] = staff_desk.answer(session, crew.desk.openid, "办结")
    assert "处理结果" in reply
    [reply] = staff_desk.answer(session, crew.desk.openid, f"答复 {number} 我们已联系楼上业主，今晚会上门协调")
    session.commit()
    assert "已把您的答复转告业主" in reply
    [word] = _messages(session, openid=OWNER, contains="客服郑客服回复")
    assert "今晚会上门协调" in word.content
    assert _clock(session, tid, "handled").outcome is None  # a word is not the result
    [reply] = staff_desk.answer(session, crew.desk.openid, f"办结 {number} 已联系楼上业主，保证晚十点后不施工")
    session.commit()
    assert "已办结" in reply and "2小时内" in reply
    complaint = session.get(Complaint, tid)
    assert complaint.result == "已联系楼上业主，保证晚十点后不施工" and complaint.handled_by_id == crew.desk.id
    session.commit()
    [reply] = staff_desk.answer(session, crew.desk.openid, f"处理 {number} 再说一次")
    assert "已经办结过了" in reply
    assert _ticket(session, tid).status == "done"


def test_an_owner_who_says_it_is_not_solved_reopens_the_complaint(session, crew, now):
    tid = _complaint(session, crew, now)
    complaints.handle(session, _ticket(session, tid), crew.desk, "已协调", now + timedelta(minutes=30))
    session.commit()
    [reply] = owner_desk.answer(session, OWNER, "根本没解决 还在吵", now + timedelta(hours=3))
    session.commit()
    assert "重新交给客服" in reply
    assert session.get(Complaint, tid).reopened_at == now + timedelta(hours=3)
    session.commit()
    assert _ticket(session, tid).status == "dispatched"


# --- ratings, reminders, revisits ----------------------------------------------------------------
def test_a_rating_in_words_is_recorded_against_the_latest_finished_job(session, crew, now):
    tid = repair(session, crew, now, openid=OWNER)
    done = _done(session, crew, tid, now)
    assert _clock(session, tid, "feedback").due_at == done + timedelta(hours=48)
    recorded = aftercare.record_rating(session, OWNER, "四星，来得有点晚", done + timedelta(hours=1))
    session.commit()
    assert (recorded.ticket.id, recorded.rating.score, recorded.rating.comment) == (tid, 4, "来得有点晚")
    assert recorded.follow_up is None and not recorded.reopened
    assert _ticket(session, tid).status == "closed"
    assert _clock(session, tid, "feedback").outcome == "met"
    # no reminder, no revisit for a rated job
    assert sla_sweep.sweep(done + timedelta(hours=49)) == {"warned": 0, "missed": 0}


def test_nothing_to_rate_records_nothing(session, crew, now):
    assert aftercare.record_rating(session, OWNER, "五星", now) is None
    tid = repair(session, crew, now, openid=OWNER)
    _done(session, crew, tid, now)
    assert aftercare.record_rating(session, OWNER, "你好", now + timedelta(hours=1)) is None


def test_no_rating_reminds_at_24h_once_and_opens_a_revisit_at_48h(session, crew, now):
    tid = repair(session, crew, now, openid=OWNER)
    done = _done(session, crew, tid, now)
    assert sla_sweep.sweep(done + timedelta(hours=23, minutes=59))["warned"] == 0
    assert sla_sweep.sweep(done + timedelta(hours=24, seconds=1))["warned"] == 1
    assert sla_sweep.sweep(done + timedelta(hours=30))["warned"] == 0
    assert len(_messages(session, openid=OWNER, contains="修好一天了")) == 1
    assert sla_sweep.sweep(done + timedelta(hours=48, seconds=1))["missed"] == 1
    assert sla_sweep.sweep(done + timedelta(hours=50))["missed"] == 0
    [task] = _messages(session, openid=crew.desk.openid, contains="回访任务")
    assert "48小时未评价" in task.content
    number = _ticket(session, tid).number

    [reply] = staff_desk.answer(session, crew.desk.openid, f"回访 {number} 业主说已经修好了 很满意 5分")
    session.commit()
    assert "回访结果已记录" in reply and "5 分" in reply
    item = session.execute(select(FollowUp).where(FollowUp.ticket_id == tid)).scalar_one()
    rating = session.execute(select(Rating).where(Rating.ticket_id == tid)).scalar_one()
    session.commit()
    assert item.kind == "revisit" and item.closed_at is not None and "已经修好" in item.result
    assert rating.score == 5 and rating.source == "revisit"


def test_a_score_of_two_or_less_opens_a_follow_up_for_the_supervisor(session, crew, now):
    tid = repair(session, crew, now, openid=OWNER)
    done = _done(session, crew, tid, now)
    recorded = aftercare.record_rating(session, OWNER, "2分 地上弄得很脏", done + timedelta(minutes=5))
    session.commit()
    assert recorded.rating.score == 2 and recorded.follow_up is not None
    [task] = _messages(session, openid=crew.supervisor.openid, contains="差评跟进")
    assert "地上弄得很脏" in task.content
    # a second low rating of the same job does not open a second follow-up
    aftercare.record_rating(session, OWNER, "1分", done + timedelta(minutes=6))
    session.commit()
    assert len(_messages(session, openid=crew.supervisor.openid, contains="差评跟进")) == 1
    [reply] = staff_desk.answer(session, crew.supervisor.openid, "跟进 已上门道歉并打扫干净")
    session.commit()
    assert "跟进结果已记录" in reply


def test_still_broken_reopens_the_job_for_dispatch(session, crew, now):
    tid = repair(session, crew, now, openid=OWNER)
    done = _done(session, crew, tid, now)
    assert owner_desk.answer(session, "o-someone-else", "还没修好", done) is None
    [reply] = owner_desk.answer(session, OWNER, "还没修好 还是在滴水", done + timedelta(hours=2))
    session.commit()
    assert "重新派单" in reply
    ticket = _ticket(session, tid)
    assert ticket.status == "new" and _steps(ticket, "reopened") == 1
    assert _clock(session, tid, "feedback") is None  # a new one starts at the next 完工
    assert dispatch.dispatch_ticket(tid, done + timedelta(hours=2, minutes=1)) == "dispatched"
    assert _ticket(session, tid).assignee_id == crew.plumber_b.id  # someone new this time


# --- the satisfaction survey ---------------------------------------------------------------------
def test_the_survey_asks_bound_owners_and_counts_their_answers(session, crew, now):
    owners.bind(session, "o-a", crew.house)
    owners.bind(session, "o-b", crew.house)
    owner_wrote(session, "o-a", now - timedelta(hours=1))  # o-a's window is open, o-b's is not
    community = crew.community
    found, asked = survey.start(session, community, 2026, "吴主管", now)
    session.commit()
    assert asked == 2
    with pytest.raises(survey.SurveyError):
        survey.start(session, community, 2026, "吴主管", now)
    session.rollback()
    channels = {m.openid: m.channel for m in _messages(session) if m.purpose == "notice"}
    assert channels == {"o-a": "custom", "o-b": "template"}

    assert survey.answer(session, "o-a", "物业电话多少", now) is None  # not an answer: the assistant reads it
    [reply] = survey.answer(session, "o-a", "5", now + timedelta(minutes=1))
    assert "第2题" in reply
    [reply] = survey.answer(session, "o-a", "还算满意吧", now + timedelta(minutes=2))
    assert "第3题" in reply
    [reply] = survey.answer(session, "o-a", "希望东门晚上多一个保安", now + timedelta(minutes=3))
    assert "谢谢您花时间" in reply
    assert survey.answer(session, "o-a", "5", now + timedelta(minutes=4)) is None  # finished
    [reply] = owner_desk.answer(session, "o-b", "一般般", now + timedelta(minutes=5))
    assert "我们会改进" in reply
    session.commit()

    result = survey.results(session, session.get(Survey, found.id))
    assert (result.invited, result.responded, result.finished) == (2, 2, 1)
    assert (result.satisfied, result.overall_answers, result.satisfaction) == (1, 2, 0.5)
    suggestion = session.execute(select(SurveyAnswer).where(SurveyAnswer.question == "suggestion")).scalar_one()
    assert suggestion.text == "希望东门晚上多一个保安"


def test_survey_cli_starts_once_and_counts(session, crew, db_url, capsys):
    from backend.__main__ import main

    with pytest.raises(SystemExit) as exc:  # nobody to ask yet: nothing is started
        main(["--database-url", db_url, "survey", "start", "--community", "XFL"])
    assert "还没有业主绑定微信" in str(exc.value)
    owners.bind(session, "o-a", crew.house)
    session.commit()
    assert main(["--database-url", db_url, "survey", "start", "--community", "XFL", "--by", "吴主管"]) == 0
    assert "已向 1 位" in capsys.readouterr().out
    with pytest.raises(SystemExit) as exc:
        main(["--database-url", db_url, "survey", "start", "--community", "XFL"])
    assert "已经发起过了" in str(exc.value)
    survey.answer(session, "o-a", "很满意", aware_now())
    session.commit()
    assert main(["--database-url", db_url, "survey", "results", "--community", "XFL"]) == 0
    printed = capsys.readouterr().out
    assert "回复 1" in printed and "100.0%" in printed
    with pytest.raises(SystemExit):
        main(["--database-url", db_url, "survey", "start", "--community", "NOPE"])


def test_a_ticket_from_an_unbound_owner_gets_the_community_of_its_building(session, crew, now):
    from backend.core.models import Building, Community
    from backend.owners.communities import community_for
    from backend.text.addresses import Address
    from backend.work.tickets import RepairRequest, create_repair

    ticket = create_repair(
        session,
        RepairRequest(
            openid="o-unbound",
            description="楼道灯不亮",
            contact_phone="13800001001",
            address=Address("3", "2"),
            place="楼道",
        ),
        now=now,
    )
    assert ticket.community_id == crew.community.id
    other = Community(code="HY", name="和园", service_grade=1)
    session.add_all([other, Building(community=other, code="3"), Building(community=other, code="9")])
    session.flush()
    assert community_for(session, "9") == other.id
    assert community_for(session, "3") is None  # both have a 3栋: a person decides
    assert community_for(session, None) is None
    session.rollback()
