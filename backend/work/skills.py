"""Which trade a repair needs: 水电, 电梯, 土建/门窗, or 综合 when nothing more specific fits."""

from __future__ import annotations

import re

from backend.core.models import SKILLS, Ticket

# Checked in this order: a lift fault mentioning a light is still the lift company's job.
_RULES = [
    ("电梯", r"电梯|困梯|关人|轿厢|梯门"),
    ("水电", r"水|漏|管|阀|马桶|下水|地漏|堵|龙头|热水器|电|灯|插座|开关|跳闸|保险|线路|停电|燃气|煤气|暖气"),
    ("土建/门窗", r"门|窗|墙|瓷砖|地砖|天花|吊顶|裂|脱落|屋顶|防水|锁|栏杆|台阶|玻璃"),
]


def skill_for(ticket: Ticket) -> str:
    text = " ".join(filter(None, [ticket.facility, ticket.description, ticket.place]))
    for skill, pattern in _RULES:
        if re.search(pattern, text):
            return skill
    return "综合"


assert all(skill in SKILLS for skill, _ in _RULES)
