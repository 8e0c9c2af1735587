"""Whose community an answer is about: the owner's bound home, else a community they name,
else the only one there is. With several communities and none of these, we ask."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Optional

from sqlalchemy import select

from actions.store import SETTINGS
from backend.core.models import Community, House
from backend.owners import accounts as owners
from backend.owners import binding

HOW_TO_BIND = "跟我说「绑定房屋」，再告诉我房号和在物业登记的手机号，比如「绑定 3栋2单元501 13812345678」。"


@dataclass
class Where:
    community: Optional[Community] = None
    house: Optional[House] = None
    choices: List[Community] = field(default_factory=list)  # when we cannot tell

    @property
    def building_code(self) -> Optional[str]:
        return self.house.building.code if self.house else None


def where(session, openid: str, text: str = "", community_id: Optional[int] = None) -> Where:
    house = owners.current_house(session, openid)
    if house is not None:
        return Where(owners.community_of(session, house), house)
    named = binding.communities_named(session, text)
    if not named and community_id:
        named = [community_id]
    if len(named) == 1:
        return Where(session.get(Community, named[0]))
    everyone = list(session.execute(select(Community).order_by(Community.id)).scalars())
    if len(everyone) == 1:
        return Where(everyone[0])
    return Where(choices=everyone)


def which_community(choices: List[Community], what: str) -> str:
    names = "、".join(c.name for c in choices)
    return (
        f"请问您是哪个小区的？（{names}）说小区名加「{what}」就行，比如「{choices[0].name}{what}」。\n"
        f"绑定房屋后就不用再说小区了：{HOW_TO_BIND}"
    )


def desk(session, openid: str, text: str = "", community_id: Optional[int] = None) -> Dict[str, str]:
    """The service desk of the owner's community: their bound home's, else one they name, else
    the only one; with several communities and no clue, the company's own hotline."""
    community: Optional[Community] = where(session, openid, text, community_id).community
    if community is None:
        return {
            "name": SETTINGS.company_name,
            "hotline": SETTINGS.service_hotline,
            "hours": "",
            "address": "",
            "hotline_24h": "",
            "duty_phone": "",
        }
    return community_desk(community)


def community_desk(community: Community) -> Dict[str, str]:
    return {
        "name": community.name,
        "hotline": community.hotline or SETTINGS.service_hotline,
        "hours": community.desk_hours or "",
        "address": community.address or "",
        "hotline_24h": "yes" if community.hotline and community.hotline_24h else "",
        "duty_phone": community.duty_phone or "",
    }


def around_the_clock(d: Dict[str, str]) -> Optional[str]:
    """The community's number that is staffed 24 hours, if it has one on record."""
    if d.get("hotline_24h"):
        return d["hotline"]
    return d.get("duty_phone") or None


def phone_words(d: Dict[str, str]) -> str:
    """The hotline, said truthfully: "24小时" only of a number staffed 24 hours."""
    if d.get("hotline_24h"):
        return f"{d['hotline']}（24小时）"
    words = d["hotline"] + (f"（上班时间 {d['hours']}）" if d.get("hours") else "")
    if d.get("duty_phone"):
        words += f"，下班后请打24小时值班电话 {d['duty_phone']}"
    return words
