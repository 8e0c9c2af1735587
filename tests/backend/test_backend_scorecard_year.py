"""The standard's figures over the right period, on a fixture year (2026, Beijing time):
yearly targets over the year or the 12 months to a month, monthly figures monthly, complaints
inside their 2 hours in progress; suggestions counted apart; tickets per channel; the desk's
hours, 24-hour line and 公示 against the grade; an outage whose owners were told late."""

from __future__ import annotations

import csv
import json
from datetime import date, datetime, timedelta

import pytest

from backend.core.clock import SHANGHAI
from backend.core.models import FeeDisclosure, House
from backend.messaging import outages
from backend.owners import accounts as owners
from backend.service import complaints, intake, scorecard, survey
from backend.work.staff import add_shift, add_staff
from tests.backend.crew import make_crew, owner_wrote

M = timedelta(minutes=1)


def cst(year, month, day, hour=10, minute=0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)


def figures(card) -> dict:
    return {f["key"]: (f["numerator"], f["denominator"], f["span"]) for f in card["figures"]}


@pytest.fixture
def year(session, wechat_env):
    start = cst(2025, 10, 1, 0)
    crew = make_crew(session, start)
    desk = add_staff(session, "郑客服", "13800002006", "customer_service", "")
    desk.openid = "o-staff-2006"
    add_shift(session, desk, start, start + timedelta(days=500))
    more = [House(building=crew.house.building, unit="2", room=r) for r in ("502", "601", "602")]
    session.add_all(more)
    session.commit()
    crew.desk, crew.more = desk, more

    def complaint(at, handled_after=None, reopen=False):
        ticket = complaints.raise_complaint(
            session,
            complaints.ComplaintRequest(
                openid=f"o-c{at:%m%d}", description="楼下烧烤油烟太大", community_id=crew.community.id
            ),
            now=at,
        )
        if handled_after is not None:
            complaints.handle(session, ticket, desk, "已劝阻", at + handled_after * M)
        if reopen:
            complaints.reopen(session, ticket, f"o-c{at:%m%d}", "又烤了", at + 5 * 60 * M)
        session.commit()

    complaint(cst(2025, 10, 15), handled_after=30)  # outside both windows of Oct 2026
    complaint(cst(2025, 11, 15), handled_after=30, reopen=True)  # in the 12 months to Oct 2026, not in 2026
    complaint(cst(2026, 2, 10), handled_after=40)  # 2026: effective
    complaint(cst(2026, 6, 10), handled_after=150)  # 2026: late but effective
    complaint(cst(2026, 10, 10), handled_after=60)  # October: effective, in time

    # Owners reached in 2026: 3 of 4 houses, in three different months (none in October).
    for n, (house, month) in enumerate(((crew.house, 3), (more[0], 7), (more[1], 12))):
        owners.bind(session, f"o-r{n}", house)
        session.commit()
        owner_wrote(session, f"o-r{n}", cst(2026, month, 5))
    survey.start(session, crew.community, 2026, "吴主管", cst(2026, 9, 1))
    survey.answer(session, "o-r0", "5", cst(2026, 9, 1, 11))
    survey.answer(session, "o-r1", "4", cst(2026, 9, 1, 12))
    session.commit()
    return crew


def test_a_calendar_year_judges_the_yearly_targets_over_the_year(session, year):
    card = scorecard.for_year(session, "XFL", "2026", now=cst(2027, 1, 5))
    got = figures(card)
    assert got["complaints_effective"] == (3, 3, "year")  # Feb, Jun, Oct
    assert got["owner_reach"] == (3, 4, "year")  # Mar, Jul, Dec
    assert got["survey_satisfaction"] == (2, 2, "year")
    assert got["complaints_within_2h"] == (2, 3, "year")  # the year's clocks: Jun was late
    reach = next(f for f in card["figures"] if f["key"] == "owner_reach")
    assert reach["met"] is True and reach["target"] == 0.30


def test_a_month_keeps_monthly_figures_and_judges_yearly_ones_over_12_months(session, year):
    card = scorecard.for_month(session, "XFL", "2026-10", now=cst(2026, 11, 2))
    got = figures(card)
    assert got["complaints_within_2h"] == (1, 1, "month")  # October's own complaint
    # Nov 2025 (reopened) to Oct 2026: 3 of 4 effective; Oct 2025 is outside.
    assert got["complaints_effective"] == (3, 4, "rolling")
    assert got["owner_reach"] == (2, 4, "rolling")  # March and July; December not yet
    assert card["period"]["year_start"].startswith("2025-11-01T00:00:00+08:00")


def test_a_complaint_inside_its_2_hours_is_in_progress_not_a_failure(session, year):
    at = cst(2026, 10, 20, 9)
    complaints.raise_complaint(
        session,
        complaints.ComplaintRequest(openid="o-new", description="电梯里有人抽烟", community_id=year.community.id),
        now=at,
    )
    session.commit()
    during = scorecard.for_month(session, "XFL", "2026-10", now=at + 30 * M)
    assert during["counts"]["complaints_in_progress"] == 1
    assert figures(during)["complaints_effective"] == (3, 4, "rolling")  # not counted against us
    assert figures(during)["complaints_within_2h"] == (1, 1, "month")
    after = scorecard.for_month(session, "XFL", "2026-10", now=at + 3 * 60 * M)
    assert after["counts"]["complaints_in_progress"] == 0
    assert figures(after)["complaints_effective"] == (3, 5, "rolling")  # its 2 hours are over, unhandled


def test_suggestions_are_answered_in_2_hours_and_counted_apart_per_channel(session, year):
    at = cst(2026, 10, 21, 9)
    chat = complaints.raise_complaint(
        session,
        complaints.ComplaintRequest(
            openid="o-r0", description="建议小区多装几个充电桩", community_id=year.community.id, kind="suggestion"
        ),
        now=at,
    )
    phoned = intake.take(
        session,
        intake.Intake(
            kind="suggestion", channel="phone", description="希望周末也开放业主活动室", house_id=year.house.id
        ),
        "console:zheng",
        at + 5 * M,
    )
    repair = intake.take(
        session,
        intake.Intake(kind="repair", channel="walk_in", description="门禁卡失灵", house_id=year.house.id),
        "console:zheng",
        at,
    )
    assert chat.number.startswith("JY") and chat.assignee_id == year.desk.id
    complaints.handle(session, chat, year.desk, "已报业委会，年内增加10个", at + 50 * M)
    complaints.handle(session, phoned, year.desk, "下月起周末开放", at + 3 * 60 * M)
    session.commit()
    assert repair.channel == "walk_in"
    card = scorecard.for_month(session, "XFL", "2026-10", now=cst(2026, 11, 2))
    assert figures(card)["suggestions_within_2h"] == (1, 2, "month")
    assert card["counts"]["suggestions"] == 2 and card["counts"]["complaints"] == 1  # not complaints
    channels = {row["channel"]: row for row in card["desk"]["channels"]}
    assert channels["wechat"]["suggestion"] == 1 and channels["wechat"]["complaint"] == 1
    assert channels["phone"]["suggestion"] == 1 and channels["walk_in"]["repair"] == 1
    assert channels["phone"]["label"] == "电话" and channels["phone"]["total"] == 1
    # per channel, the clocks met of those ended: the chat suggestion in 50 min, the phoned one late
    assert (channels["wechat"]["on_time"], channels["wechat"]["clocks_ended"]) == (2, 2)  # + Oct's complaint
    assert (channels["phone"]["on_time"], channels["phone"]["clocks_ended"]) == (0, 1)
    assert channels["phone"]["on_time_rate"] == 0.0


def test_desk_hours_24_hour_line_and_an_old_disclosure_against_the_grade(session, year):
    community = year.community
    community.desk_hours = "08:00-20:00"
    session.add(
        FeeDisclosure(
            community_id=community.id,
            period="2025年下半年",
            title="2025年下半年收支公示",
            published_on=date(2026, 2, 1),
        )
    )
    session.commit()
    card = scorecard.for_month(session, "XFL", "2026-10", now=cst(2026, 11, 2))["desk"]["desk"]
    assert (card["desk_hours"], card["desk_hours_target"], card["desk_hours_met"]) == (12, 12, True)
    assert card["phone_24h"] is False and card["disclosure_stale"] is False  # grade 2: a year
    community.service_grade = 1
    session.commit()
    card = scorecard.for_month(session, "XFL", "2026-10", now=cst(2026, 11, 2))["desk"]["desk"]
    assert (card["desk_hours_target"], card["desk_hours_met"]) == (24, False)
    assert card["disclosure_stale"] is True and card["disclosure_max_months"] == 6  # 8 months old
    community.hotline, community.hotline_24h, community.desk_hours_per_day = "0571-1", True, 24
    session.commit()
    card = scorecard.for_month(session, "XFL", "2026-10", now=cst(2026, 11, 2))["desk"]["desk"]
    assert card["phone_24h"] is True and card["desk_hours_met"] is True


def two_outages(session):
    """A water cut whose owners heard 9 h after the utility told us and 21 h before it (late on
    both limits), and a power cut told within the hour and 48 h ahead."""
    session.commit()
    told_us = cst(2026, 10, 8, 9)
    late = outages.create(
        session,
        "XFL",
        "water",
        cst(2026, 10, 9, 15),
        cst(2026, 10, 9, 20),
        buildings=["3"],
        reason="管网维修",
        now=told_us,
        utility_notified_at=told_us,
    )
    outages.send_notice(session, late, now=told_us + timedelta(hours=9))  # 9 h later, 21 h before
    prompt = outages.create(
        session,
        "XFL",
        "power",
        cst(2026, 10, 20, 9),
        cst(2026, 10, 20, 12),
        reason="检修",
        now=cst(2026, 10, 18, 9),
        utility_notified_at=cst(2026, 10, 18, 8),
    )
    outages.send_notice(session, prompt, now=cst(2026, 10, 18, 9))  # within the hour, 48 h before
    session.commit()
    return late, prompt


def test_an_outage_whose_owners_were_told_late_shows_so(session, year):
    two_outages(session)
    card = scorecard.for_month(session, "XFL", "2026-10", now=cst(2026, 11, 2))["desk"]
    rows = {r["kind"]: r for r in card["outages"]}
    assert (rows["停水"]["relay_hours"], rows["停水"]["lead_hours"]) == (9.0, 21.0)
    assert rows["停水"]["relay_late"] is True and rows["停水"]["lead_short"] is True
    assert rows["停水"]["status"] == "通知晚了（超过2小时）；提前不足24小时"
    assert (rows["停电"]["relay_hours"], rows["停电"]["lead_hours"]) == (1.0, 48.0)
    assert rows["停电"]["relay_late"] is False and rows["停电"]["lead_short"] is False
    assert rows["停电"]["status"] == "及时" and rows["停电"]["problems"] == []
    assert (rows["停水"]["verdict"], rows["停电"]["verdict"]) == ("late", "ok")
    assert card["limits"] == {"notice_lead_hours": 24.0, "relay_within_hours": 2.0}  # what was applied


def test_a_cut_cancelled_before_anyone_was_told_is_no_failure(session, year):
    session.commit()
    cut = outages.create(
        session, "XFL", "water", cst(2026, 10, 12, 9), cst(2026, 10, 12, 12), reason="改期", now=cst(2026, 10, 10, 9)
    )
    outages.cancel(session, cut, "改期", now=cst(2026, 10, 10, 10))
    session.commit()
    [row] = scorecard.for_month(session, "XFL", "2026-10", now=cst(2026, 11, 2))["desk"]["outages"]
    assert row["problems"] == [] and row["status"] == "已取消" and row["lead_short"] is False
    assert row["verdict"] == "pending"  # neither a failure nor a tick


def test_the_cli_text_and_csv_show_the_desk_section_the_console_shows(session, year, db_url, tmp_path, capsys):
    """`scorecard` text and CSV carry desk hours, the 24-hour line, the 公示, tickets per channel
    and each outage's lead times, from the same card as the console and --json."""
    from backend.__main__ import main

    community = year.community
    community.desk_hours, community.duty_phone = "08:00-20:00", "0571-8888 6110"
    session.add(
        FeeDisclosure(
            community_id=community.id,
            period="2026年上半年",
            title="2026年上半年收支公示",
            published_on=date(2026, 7, 15),
        )
    )
    intake.take(
        session,
        intake.Intake(kind="repair", channel="phone", description="门禁卡失灵", house_id=year.house.id),
        "console:zheng",
        cst(2026, 10, 21, 9),
    )
    two_outages(session)
    args = ["--database-url", db_url, "scorecard", "--community", "XFL", "--month", "2026-10"]
    assert main([*args, "--json"]) == 0
    card = json.loads(capsys.readouterr().out)
    out = tmp_path / "card.csv"
    assert main([*args, "--csv", str(out)]) == 0
    text = capsys.readouterr().out

    section = text[text.index("服务中心") :]
    assert "客服中心每天服务时长" in section and "12 小时" in section and "目标 ≥12 小时  达标" in section
    assert "24小时服务电话" in section and "0571-8888 6110" in section
    assert "2026-07-15" in section and "不超过 12 个月" in section and "在期内" in section
    phone = next(line for line in section.splitlines() if line.strip().startswith("电话"))
    assert phone.split()[1:5] == ["1", "0", "0", "1"]  # one repair by phone
    assert "2 小时内通知业主" in section and "至少提前 24 小时" in section  # the limits applied
    water = next(line for line in section.splitlines() if line.strip().startswith("停水 "))
    assert "耗时 9.0 小时" in water and "提前 21.0 小时" in water and "✗ 通知晚了" in water
    power = next(line for line in section.splitlines() if line.strip().startswith("停电 "))
    assert "耗时 1.0 小时" in power and "✓ 及时" in power

    rows = {r["figure"]: r for r in csv.DictReader(out.read_text(encoding="utf-8-sig").splitlines())}
    desk = card["desk"]
    assert (rows["desk_hours"]["value"], rows["desk_hours"]["target"], rows["desk_hours"]["status"]) == (
        "12",
        "12",
        "达标",
    )
    assert rows["phone_24h"]["value"] == "0571-8888 6110" and rows["phone_24h"]["status"] == "达标"
    assert rows["disclosure"]["value"] == desk["desk"]["disclosure_on"] == "2026-07-15"
    assert rows["disclosure"]["target"] == "12个月内" and rows["disclosure"]["status"] == "在期内"
    assert rows["channel_phone_repair"]["value"] == "1" and rows["channel_phone_total"]["value"] == "1"
    water_id, power_id = (o["id"] for o in desk["outages"])
    relay, lead = rows[f"outage_{water_id}_relay_hours"], rows[f"outage_{water_id}_lead_hours"]
    assert (relay["value"], relay["target"], relay["status"]) == ("9.0", "≤2", "未达标")
    assert (lead["value"], lead["target"], lead["status"]) == ("21.0", "≥24", "未达标")
    assert rows[f"outage_{power_id}_relay_hours"]["status"] == "达标"
    assert rows[f"outage_{power_id}_lead_hours"]["value"] == "48.0"
