"""`python -m backend scorecard ...` and `python -m backend survey ...`: the service standards."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from sqlalchemy import select

from backend.core import db
from backend.core.config import load_settings
from backend.core.models import Community, Survey
from backend.service import scorecard, survey


def _session(args):
    return db.session_scope(db.get_engine(args.database_url or load_settings().database_url))


def _community(session, code: str) -> Community:
    found = session.execute(select(Community).where(Community.code == code)).scalar_one_or_none()
    if found is None:
        raise SystemExit(f"没有小区代码 {code}")
    return found


def cmd_scorecard(args) -> int:
    with _session(args) as session:
        try:
            card = (
                scorecard.for_year(session, args.community, args.year)
                if args.year
                else scorecard.for_month(session, args.community, args.month)
            )
        except scorecard.ScorecardError as exc:
            raise SystemExit(str(exc))
    if args.csv:
        Path(args.csv).write_text(scorecard.to_csv(card), encoding="utf-8-sig")  # BOM: Excel reads it as UTF-8
    print(json.dumps(card, ensure_ascii=False, indent=2) if args.json else scorecard.to_text(card))
    if args.csv:
        print(f"CSV 已写入 {args.csv}")
    return 0


def cmd_survey_start(args) -> int:
    with _session(args) as session:
        community = _community(session, args.community)
        try:
            found, asked = survey.start(session, community, args.year, started_by=args.by or "cli")
        except survey.SurveyError as exc:
            raise SystemExit(str(exc))
        print(f"已发起 {community.name} {found.year} 年满意度调查，已向 {asked} 位绑定微信的业主发出问卷。")
    return 0


def cmd_survey_results(args) -> int:
    with _session(args) as session:
        community = _community(session, args.community)
        stmt = select(Survey).where(Survey.community_id == community.id)
        if args.year:
            stmt = stmt.where(Survey.year == args.year)
        found = session.execute(stmt.order_by(Survey.year.desc()).limit(1)).scalar_one_or_none()
        if found is None:
            raise SystemExit(f"{community.name} 还没有发起过满意度调查。")
        r = survey.results(session, found)
    sat = "—" if r.satisfaction is None else f"{r.satisfaction * 100:.1f}%"
    print(f"{community.name} {found.year} 年满意度调查：发出 {r.invited}，回复 {r.responded}，答完 {r.finished}")
    print(f"  满意率（总体 4-5 分）：{sat}（{r.satisfied}/{r.overall_answers}）  各题平均分：{r.mean}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    card = sub.add_parser("scorecard", help="a community's service figures for a month against its grade")
    card.add_argument("--community", required=True, help="community code, e.g. XFL")
    when = card.add_mutually_exclusive_group(required=True)
    when.add_argument("--month", help="YYYY-MM (Beijing time); yearly figures over the 12 months to it")
    when.add_argument("--year", help="YYYY: every figure over the calendar year")
    card.add_argument("--csv", help="also write the figures to this CSV file")
    card.add_argument("--json", action="store_true", help="print JSON (what the console gets)")
    card.set_defaults(func=cmd_scorecard)

    sv = sub.add_parser("survey", help="the yearly owners' satisfaction survey in WeChat")
    ssub = sv.add_subparsers(dest="survey_command", required=True, metavar="ACTION")
    st = ssub.add_parser("start", help="ask every bound owner of the community")
    st.add_argument("--community", required=True)
    st.add_argument("--year", type=int, help="default: this year")
    st.add_argument("--by", help="who started it (kept with the survey)")
    st.set_defaults(func=cmd_survey_start)
    rs = ssub.add_parser("results", help="answers counted so far")
    rs.add_argument("--community", required=True)
    rs.add_argument("--year", type=int)
    rs.set_defaults(func=cmd_survey_results)
