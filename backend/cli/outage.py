"""`python -m backend outage ...`: announce, change and follow water/power cuts from the shell."""

from __future__ import annotations

import argparse
import time
from datetime import datetime

from sqlalchemy import select

from backend.core import db
from backend.core.clock import SHANGHAI
from backend.core.config import load_settings
from backend.core.models import OUTAGE_KINDS, Outage
from backend.messaging import outages


def _session(args):
    return db.session_scope(db.get_engine(args.database_url or load_settings().database_url))


def _when(text: str) -> datetime:
    """ "2026-11-25 09:00" in Beijing time (or ISO with an offset)."""
    try:
        at = datetime.fromisoformat(text.strip().replace("/", "-"))
    except ValueError:
        raise SystemExit(f"看不懂的时间：{text}（例：2026-11-25 09:00）")
    return at if at.tzinfo else at.replace(tzinfo=SHANGHAI)


def _get(session, outage_id: int) -> Outage:
    outage = session.get(Outage, outage_id)
    if outage is None:
        raise SystemExit(f"没有编号为 {outage_id} 的停水停电记录")
    return outage


def _show_summary(session, outage: Outage) -> None:
    print(f"#{outage.id} {outages.describe(outage)} 状态：{outage.status}，第 {outage.version} 版")
    for event, s in outages.summary(session, outage.id).items():
        failed = "，".join(f"{code}: {n}" for code, n in s["failed"].items()) or "0"
        print(
            f"  {event:<10} 共 {s['total']}，已送达 {s['sent']}，待发 {s['pending']}，失败 {failed}，不确定 {s['unknown']}"
        )


def _follow(args, outage_id: int, event: str) -> None:
    """Show the broadcast going out (the worker sends it) until nothing is pending."""
    from tqdm import tqdm

    with _session(args) as session:
        total = outages.summary(session, outage_id).get(event, {}).get("total", 0)
    with tqdm(total=total, unit="人", desc=f"发送 {event}") as bar:
        while True:
            with _session(args) as session:
                s = outages.summary(session, outage_id).get(event, {"pending": 0, "total": 0})
            bar.n = s["total"] - s["pending"]
            bar.refresh()
            if s["pending"] == 0:
                break
            time.sleep(0.5)


def cmd_create(args) -> int:
    with _session(args) as session:
        try:
            outage = outages.create(
                session,
                args.community,
                args.kind,
                _when(args.start),
                _when(args.end),
                buildings=args.buildings,
                reason=args.reason or "",
                prepare=args.prepare or "",
                planned=not args.emergency,
                actor="cli",
                utility_notified_at=_when(args.utility_notified) if args.utility_notified else None,
            )
        except outages.OutageError as exc:
            raise SystemExit(str(exc))
        p = outages.preview(session, outage)
        print(f"已登记 #{outage.id}：{outages.describe(outage)}")
        print(
            "  将通知："
            + ("，".join(f"{b}栋 {n} 户" for b, n in p["per_building"].items()) or "（无已绑定业主）")
            + f"，共 {p['total']} 人"
        )
        if not args.no_send:
            outages.send_notice(session, outage)
        outage_id = outage.id
    if not args.no_send and args.wait:
        _follow(args, outage_id, "notice")
    return 0


def cmd_list(args) -> int:
    with _session(args) as session:
        rows = session.execute(select(Outage).order_by(Outage.starts_at.desc()).limit(args.limit)).scalars().all()
        if not rows:
            print("还没有停水停电记录。")
        for o in rows:
            print(f"#{o.id:<4} {o.community.name} {outages.describe(o)} [{o.status}]")
    return 0


def cmd_show(args) -> int:
    with _session(args) as session:
        _show_summary(session, _get(session, args.id))
    return 0


def _change(args, act) -> int:
    """Run one of backend.messaging.outages' actions (the same ones the console and admin API use)."""
    with _session(args) as session:
        outage = _get(session, args.id)
        try:
            event, told = act(session, outage)
        except outages.OutageError as exc:
            raise SystemExit(str(exc))
        print(
            f"#{outage.id} {outages.describe(outage)} "
            + (f"已通知之前收到通知的业主（{event}）" if told else "（通知还没发出，只改了记录）")
        )
    if args.wait and told:
        _follow(args, args.id, event)
    return 0


def cmd_send(args) -> int:
    return _change(args, lambda s, o: (outages.send_notice(s, o), True))


def cmd_update(args) -> int:
    return _change(
        args,
        lambda s, o: outages.update(
            s, o, _when(args.start) if args.start else None, _when(args.end) if args.end else None, args.note or ""
        ),
    )


def cmd_restore(args) -> int:
    return _change(args, lambda s, o: ("restored", outages.restore_and_tell(s, o)))


def cmd_cancel(args) -> int:
    return _change(args, lambda s, o: ("cancelled", outages.cancel_and_tell(s, o, args.reason or "")))


def register(sub: argparse._SubParsersAction) -> None:
    outage = sub.add_parser("outage", help="water/power/gas cuts: announce, change, follow")
    osub = outage.add_subparsers(dest="outage_command", required=True, metavar="ACTION")
    create = osub.add_parser("create", help="record a cut and tell the affected owners")
    create.add_argument("--community", required=True, help="community code, e.g. XFL")
    create.add_argument("--kind", required=True, choices=list(OUTAGE_KINDS))
    create.add_argument("--buildings", default="all", help='e.g. "3,5,A5"; default: the whole community')
    create.add_argument("--from", dest="start", required=True, help='"2026-11-25 09:00" (Beijing time)')
    create.add_argument("--to", dest="end", required=True, help="expected end, same form")
    create.add_argument("--reason", help="e.g. 市政管网维修")
    create.add_argument("--prepare", help="what owners should do beforehand (a sensible default otherwise)")
    create.add_argument("--emergency", action="store_true", help="an unplanned cut (no reminder before)")
    create.add_argument(
        "--utility-notified",
        help='when the utility told us, "2026-11-24 09:00" (the scorecard measures owners\' notice from it)',
    )
    create.add_argument("--no-send", action="store_true", help="record only; send later from the console/API")
    create.add_argument("--wait", action="store_true", help="show the broadcast going out")
    create.set_defaults(func=cmd_create)
    lst = osub.add_parser("list", help="latest cuts")
    lst.add_argument("--limit", type=int, default=20)
    lst.set_defaults(func=cmd_list)
    show = osub.add_parser("show", help="one cut and its delivery summary")
    show.add_argument("id", type=int)
    show.set_defaults(func=cmd_show)
    snd = osub.add_parser("send", help="send the notice of a cut recorded with --no-send")
    snd.add_argument("id", type=int)
    snd.add_argument("--wait", action="store_true")
    snd.set_defaults(func=cmd_send)
    upd = osub.add_parser("update", help="extend or move it; the same owners are told")
    upd.add_argument("id", type=int)
    upd.add_argument("--to", dest="end")
    upd.add_argument("--from", dest="start")
    upd.add_argument("--note", help="e.g. 抢修遇到困难，延长两小时")
    upd.add_argument("--wait", action="store_true")
    upd.set_defaults(func=cmd_update)
    res = osub.add_parser("restore", help="it is over (early or on time); owners are told")
    res.add_argument("id", type=int)
    res.add_argument("--wait", action="store_true")
    res.set_defaults(func=cmd_restore)
    can = osub.add_parser("cancel", help="it will not happen; owners are told")
    can.add_argument("id", type=int)
    can.add_argument("--reason")
    can.add_argument("--wait", action="store_true")
    can.set_defaults(func=cmd_cancel)
