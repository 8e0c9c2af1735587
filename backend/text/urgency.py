"""急修 or not: the phrases that put a repair on the 30-minute emergency clock.

Everything else is a normal repair, done at the time agreed with the owner. A lock that will not
open is not on the list: opening it is a paid service (开锁), not an emergency repair.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Fillers allowed between the parts of a phrase; never a negation, so "电梯没困人" stays normal.
_GAP = r"[^，。,.!！?？；;\s没不未无别]{0,3}"

_URGENT_PATTERNS = [
    # burst pipes and water that will not stop
    rf"爆管|(?:水管|管子|管道|水龙头|阀门|暖气片?){_GAP}(?:爆裂|爆了|爆|崩了|崩|裂开|断了|喷水)",
    rf"漏水不止|一直{_GAP}(?:漏|流水|冒水|喷)|漏个不停|(?:漏|水|流){_GAP}止不住"
    rf"|(?:水|阀门?|龙头){_GAP}关不住|哗哗{_GAP}(?:流|漏|冒)|往外喷|喷水",
    r"水漫金山|水漫|漫水|淹了|淹到|水淹|被淹|大量漏水",
    # people trapped in a lift
    rf"电梯[里内]?{_GAP}困(?:住了|住|人)?|困在{_GAP}电梯[里内]?|被?关在{_GAP}电梯[里内]?|电梯[里内]{_GAP}出不来|电梯关人",
    # fire, smoke, electricity, gas
    r"冒烟|烧焦|着火|起火|失火|火灾|冒火花|打火花?|火花|冒火|火苗",
    r"漏电|触电|电到人|被电了",
    rf"(?:燃气|煤气|天然气){_GAP}(?:泄漏|泄露|漏气|漏了)|(?:煤气|天然气|燃气)味",
    rf"(?:整栋|整幢|整层|整个楼|全楼|整个单元|整单元|整个小区|全小区|一整栋){_GAP}(?:停电|没电|断电|跳闸)",
    # sewage
    rf"化粪池|污水{_GAP}(?:倒灌|外溢|漫)|倒灌|粪水|返水{_GAP}严重|严重返水",
]
# Tried only when nothing above matched, so "被困在电梯里" reports the fuller phrase.
_FALLBACK_PATTERNS = [r"有人被困|被困|困人"]
_TIERS = [re.compile("|".join(f"(?:{p})" for p in patterns)) for patterns in (_URGENT_PATTERNS, _FALLBACK_PATTERNS)]

# A negation shortly before the phrase, e.g. 没有冒烟, 不是漏电, 没看到火花, 现在不冒烟了.
_NEGATED_BEFORE = re.compile(r"(?:没有|没|不是|并非|未|无|不)[^，。,.!！?？；;\s]{0,2}$")
# ...unless the negation is part of a question that raises the possibility: 是不是漏电, 会不会着火.
_QUESTION_BEFORE = re.compile(r"(?:是不是|会不会|有没有|是否)[^，。,.!！?？；;\s]{0,2}$")


@dataclass(frozen=True)
class Urgency:
    level: str  # "urgent" | "normal"
    reason: str | None = None  # the phrase that made it urgent, e.g. "电梯困人"

    @property
    def is_urgent(self) -> bool:
        return self.level == "urgent"


NORMAL = Urgency("normal", None)


def _negated(text: str, start: int) -> bool:
    before = text[max(0, start - 6) : start]
    return bool(_NEGATED_BEFORE.search(before)) and not _QUESTION_BEFORE.search(before)


def assess(text: str) -> Urgency:
    for tier in _TIERS:
        for m in tier.finditer(text or ""):
            if not _negated(text, m.start()):
                return Urgency("urgent", m.group())
    return NORMAL


# Emergencies among the urgent repairs: raised at once (no confirmation turn), the on-duty
# technician and the supervisors paged, and the owner told how to stay safe meanwhile.
_EMERGENCIES = [
    ("lift", re.compile(rf"电梯[里内]?{_GAP}困|困在{_GAP}电梯|关在{_GAP}电梯|电梯[里内]{_GAP}出不来|电梯关人")),
    ("gas", re.compile(rf"(?:燃气|煤气|天然气){_GAP}(?:泄漏|泄露|漏气|漏了)|(?:煤气|天然气|燃气)味")),
    ("fire", re.compile(r"冒烟|烧焦|着火|起火|失火|火灾|冒火|火苗")),
    ("electric", re.compile(r"漏电|触电|电到人|被电了|冒火花|打火花?|火花")),
    (
        "water",
        re.compile(
            rf"爆管|(?:水管|管子|管道|阀门|暖气片?){_GAP}(?:爆裂|爆了|爆|崩|裂开|断了|喷水)"
            rf"|大量漏水|水漫|漫水|淹了|淹到|水淹|被淹|往外喷|喷水|{_GAP}止不住|关不住"
        ),
    ),
]

SAFETY_ADVICE = {
    "lift": "被困的人请保持冷静，按下电梯里的警铃或拨打轿厢内的救援电话，不要强行扒门，等救援人员来开门。",
    "gas": "请不要开关任何电器和电灯、不要用明火或在屋里打电话，马上关闭燃气总阀，打开门窗通风，人先离开到室外。",
    "fire": "请马上离开，走楼梯不要坐电梯，用湿毛巾捂住口鼻、低姿前进；火势大请立即拨打119。",
    "electric": "请不要用手碰触电的人或电器，先拉下电闸断电；有人受伤请立即拨打120。",
    "water": "请先关闭家里（或楼层）的进水总阀，把电器和插座周围的水隔开，必要时拉下电闸，注意防滑。",
}


def emergency_kind(text: str) -> str | None:
    """lift | gas | fire | electric | water for an emergency told in the words, else None."""
    if not assess(text).is_urgent:
        return None
    for kind, pattern in _EMERGENCIES:
        for m in pattern.finditer(text or ""):
            if not _negated(text, m.start()):
                return kind
    return None
