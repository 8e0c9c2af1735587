"""The scorecard of a fixture month (October 2026, Beijing time) equals the figures worked out
by hand below, from records made through the same functions staff and owners use."""

from __future__ import annotations

import csv
from datetime import datetime, timedelta

import pytest

from backend.__main__ import main
from backend.core.clock import SHANGHAI
from backend.core.models import House
from backend.owners import accounts as owners
from backend.service import aftercare, complaints, scorecard, sla_sweep, survey
from backend.text.addresses import Address
from backend.work import dispatch, taskflow, ticket_status
from backend.work.staff import add_shift, add_staff
from backend.work.tickets import RepairRequest, create_repair
from tests.backend.crew import make_crew, owner_wrote


def cst(day: int, hour: int, minute: int = 0, month: int = 10) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=SHANGHAI)


M = timedelta(minutes=1)


@pytest.fixture
def month(session, wechat_env):
    """The records of the fixture month. Comments give each figure's part in it."""
    start = cst(1, 0)
    crew = make_crew(session, start)
    desk = add_staff(session, "郑客服", "13800002006", "customer_service", "")
    desk.openid = "o-staff-2006"
    for person in (crew.plumber_a, crew.supervisor, desk):
        add_shift(session, person, start - timedelta(days=2), start + timedelta(days=45))
    building = crew.house.building
    more = [House(building=building, unit="2", room=room) for room in ("502", "601", "602")]
    session.add_all(more)
    session.commit()
    plumber = crew.plumber_a

    def repair(name, at, urgency="urgent", agreed=None):
        ticket = create_repair(
            session,
            RepairRequest(
                openid=f"o-{name}",
                description="厨房水管漏水",
                contact_phone="13800001001",
                urgency=urgency,
                facility="水管",
                address=Address("3", "2", "501"),
                house_id=crew.house.id,
                community_id=crew.community.id,
                preferred_start=agreed,
                preferred_time_label="约定时间" if agreed else None,
            ),
            now=at,
        )
        dispatch.assign(session, ticket, plumber, "system", now=at)
        session.commit()
        return ticket

    def work(ticket, at, accept, arrive=None, done=None):
        taskflow.accept(session, plumber, ticket, at + accept * M)
        if arrive is not None:
            taskflow.arrive(session, plumber, ticket, at + arrive * M)
        if done is not None:
            taskflow.complete(session, plumber, ticket, "处理好了", at + done * M)
        session.commit()

    def rate(name, text, at):
        assert aftercare.record_rating(session, f"o-{name}", text, at) is not None
        session.commit()

    # Urgent repairs: on site at 20 (met), 40 (missed), 25 (met) minutes.
    u1 = repair("u1", cst(5, 10))
    work(u1, cst(5, 10), accept=5, arrive=20, done=60)
    rate("u1", "很满意", cst(5, 12))  # 5
    u2 = repair("u2", cst(6, 10))
    work(u2, cst(6, 10), accept=10, arrive=40, done=90)
    rate("u2", "四星，来得有点晚", cst(6, 12))  # 4
    u3 = repair("u3", cst(7, 10))
    work(u3, cst(7, 10), accept=3, arrive=25, done=50)  # not rated: revisited below (3)
    # A repair at an agreed time (14:00; on time until 16:00): on site 15:30, met; rated 2.
    n1 = repair("n1", cst(8, 9), urgency="normal", agreed=cst(8, 14))
    work(n1, cst(8, 9), accept=30, arrive=390, done=420)
    rate("n1", "2分 修了两次", cst(8, 17))
    # A repair with no agreed time, accepted after an hour, still open: no clock, not finished.
    n2 = repair("n2", cst(9, 9), urgency="normal")
    work(n2, cst(9, 9), accept=60)

    # Complaints: handled at 1 h 59 (met), 2 h 01 (missed), 30 min then reopened, never.
    def complaint(day, handled_after=None, reopen=False):
        at = cst(day, 10)
        ticket = complaints.raise_complaint(
            session,
            complaints.ComplaintRequest(openid=f"o-c{day}", description="楼上装修太吵", community_id=crew.community.id),
            now=at,
        )
        if handled_after is not None:
            complaints.handle(session, ticket, desk, "已协调", at + handled_after * M)
        if reopen:
            complaints.reopen(session, ticket, f"o-c{day}", "没解决", at + 3 * 60 * M)
        session.commit()
        return ticket

    complaint(10, handled_after=119)
    complaint(11, handled_after=121)
    complaint(12, handled_after=30, reopen=True)
    complaint(13)
    # An urgent repair the owner withdrew after 5 minutes: its clock runs out, it counts nowhere.
    withdrawn = repair("w", cst(13, 11))
    sla_sweep.sweep(cst(13, 11, 1))  # its clock is running
    ticket_status.move(session, withdrawn, "cancelled", "owner:o-w", "不用修了")
    session.commit()
    sla_sweep.sweep(cst(13, 12, 1))  # C4's 2 hours are over; U3's 48 h without a rating open a revisit
    assert aftercare.record_follow_up(session, desk, "revisit", u3.number, "业主说修好了 3分", cst(13, 15))[2] == 3
    session.commit()

    # Not in October (Beijing time): an urgent repair raised at 00:10 on 1 November, on site late.
    late = repair("nov", cst(1, 0, 10, month=11))
    work(late, cst(1, 0, 10, month=11), accept=1, arrive=45, done=60)
    rate("nov", "差评", cst(1, 2, month=11))

    # Owners reached: 2 houses bound; one owner wrote in October, the other only in November
    # (and a menu click in October, which is not two-way contact). 4 houses in all.
    owners.bind(session, "o-a", crew.house)
    owners.bind(session, "o-b", more[0])
    session.commit()
    owner_wrote(session, "o-a", cst(15, 9))
    owner_wrote(session, "o-b", cst(15, 9), msg_type="event")
    owner_wrote(session, "o-b", cst(2, 9, month=11))

    # The year's survey: overall 5 (satisfied) and 3 (not).
    survey.start(session, crew.community, 2026, "吴主管", cst(20, 9))
    survey.answer(session, "o-a", "5", cst(20, 10))
    survey.answer(session, "o-b", "一般", cst(20, 11))
    session.commit()
    return crew


EXPECTED = {  # key: (numerator, denominator, target, met) for grade 2
    "emergency_on_site": (2, 3, 1.0, False),  # U1, U3 met; U2 missed
    "agreed_time_on_site": (1, 1, 1.0, True),  # N1
    "complaints_within_2h": (2, 4, 1.0, False),  # C1, C3 in time; C2 late; C4 never
    "complaints_effective": (2, 4, 0.90, False),  # C1, C2; C3 reopened; C4 open
    "revisit_rate": (4, 4, 0.80, True),  # U1, U2, N1 rated; U3 revisited
    "rating_satisfaction": (2, 4, 0.80, False),  # 5, 4 of 5, 4, 3, 2
    "survey_satisfaction": (1, 2, 0.80, False),  # 5 of 5, 3
    "owner_reach": (1, 4, 0.30, False),  # o-a's house of 4
    "suggestions_within_2h": (0, 0, 1.0, None),  # no suggestions this month
}


def test_the_scorecard_of_the_fixture_month_matches_the_hand_count(session, month):
    card = scorecard.for_month(session, "XFL", "2026-10")
    assert card["community"] == {"code": "XFL", "name": "幸福里花园", "service_grade": 2}
    got = {f["key"]: (f["numerator"], f["denominator"], f["target"], f["met"]) for f in card["figures"]}
    assert got == EXPECTED
    values = {f["key"]: f["value"] for f in card["figures"]}
    assert values["emergency_on_site"] == pytest.approx(2 / 3) and values["owner_reach"] == 0.25
    # minutes from raised to 接单: 5, 10, 3, 30, 60; to on site: 20, 40, 25, 390; complaints: 119, 121, 30
    assert card["response_times"] == {
        "accept_minutes": {"count": 5, "median": 10.0, "p90": 60.0},
        "on_site_minutes": {"count": 4, "median": 32.5, "p90": 390.0},
        "complaint_minutes": {"count": 3, "median": 119.0, "p90": 121.0},
    }
    assert card["counts"]["mean_rating"] == 3.5  # (5 + 4 + 2 + 3) / 4


def test_november_holds_only_its_own_records(session, month):
    card = scorecard.for_month(session, "XFL", "2026-11")
    got = {f["key"]: (f["numerator"], f["denominator"]) for f in card["figures"]}
    assert got["emergency_on_site"] == (0, 1)
    assert got["rating_satisfaction"] == (0, 1)
    assert got["complaints_within_2h"] == (0, 0)
    complaints_fig = next(f for f in card["figures"] if f["key"] == "complaints_within_2h")
    assert complaints_fig["value"] is None and complaints_fig["met"] is None  # nothing to count is not 0%


def test_grade_three_sets_no_revisit_target(session, month):
    month.community.service_grade = 3
    session.commit()
    card = scorecard.for_month(session, "XFL", "2026-10")
    revisit = next(f for f in card["figures"] if f["key"] == "revisit_rate")
    effective = next(f for f in card["figures"] if f["key"] == "complaints_effective")
    assert revisit["target"] is None and revisit["met"] is None
    assert effective["target"] == 0.80


def test_cli_prints_and_writes_csv(session, month, db_url, tmp_path, capsys):
    out = tmp_path / "card.csv"
    assert (
        main(["--database-url", db_url, "scorecard", "--community", "XFL", "--month", "2026-10", "--csv", str(out)])
        == 0
    )
    printed = capsys.readouterr().out
    assert "投诉有效处理率" in printed and "未达标" in printed
    rows = {r["figure"]: r for r in csv.DictReader(out.read_text(encoding="utf-8-sig").splitlines())}
    assert rows["complaints_effective"]["value"] == "0.5000" and rows["complaints_effective"]["status"] == "未达标"
    assert rows["revisit_rate"]["status"] == "达标" and rows["revisit_rate"]["target"] == "0.80"
    assert rows["on_site_minutes_median"]["value"] == "32.5"


@pytest.mark.parametrize(
    "args, message",
    [
        (["--community", "NOPE", "--month", "2026-10"], "没有小区代码"),
        (["--community", "XFL", "--month", "2026-13"], "YYYY-MM"),
        (["--community", "XFL", "--month", "十月"], "YYYY-MM"),
    ],
)
def test_cli_refuses_bad_input_clearly(session, month, db_url, args, message):
    with pytest.raises(SystemExit) as exc:
        main(["--database-url", db_url, "scorecard", *args])
    assert message in str(exc.value)


def test_percentile_is_nearest_rank():
    assert scorecard.percentile([3, 5, 10, 30, 60], 90) == 60
    assert scorecard.percentile(list(range(1, 11)), 90) == 9
    assert scorecard.percentile([], 90) is None
