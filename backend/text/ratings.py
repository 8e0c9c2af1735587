"""Reading an owner's rating from what they type: 5, 四星, 打3分, 很满意, 差评, 一般般吧3分,
"四星，来得有点晚" (4, comment 来得有点晚), ★★★★.

A number the owner gives wins over words (一般般吧3分 is 3); verdict words (满意, 好评, 差评,
一般) win over plain adjectives (不错, 还行, 太差). Negated forms are matched before the word
they contain (不满意 before 满意). Nothing found: None, never a guess.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

_CN_DIGITS = {
    "一": 1,
    "二": 2,
    "两": 2,
    "俩": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "零": 0,
    "0": 0,
    "1": 1,
    "2": 2,
    "3": 3,
    "4": 4,
    "5": 5,
}
_D = r"[0-5一二两俩三四五零]"
# Explicit scores, most specific first. Group "n" is the number.
_EXPLICIT = [
    re.compile(rf"(?<![0-9扣减])(?P<n>{_D})\s*(?:颗星|颗|星|分(?!钟|之|享|开|别|期|手|析|配|类))"),
    re.compile(r"(?:打|给|评|评分|打分|选|rate|score)\s*(?:个|了|为|是)?\s*[:：]?\s*(?P<n>[0-5])(?![0-9])", re.I),
    re.compile(r"(?<![0-9])(?P<n>[1-5])(?![0-9])\s*(?:stars?|分|$|[\s,，。.!！~～吧呗啦哈]|ok\b)", re.I),
]
_STARS = re.compile(r"[★⭐]{1,5}")
_FULL = re.compile(r"满分|五星好评")
_ZERO = re.compile(r"零分|(?<![0-9])0分(?!钟)")

# Verdict words (tier 1) and plain adjectives (tier 2), each list longest/negated first.
_VERDICTS = [
    (1, "非常不满意"),
    (1, "特别不满意"),
    (1, "很不满意"),
    (1, "极不满意"),
    (1, "太不满意"),
    (2, "不太满意"),
    (2, "不怎么满意"),
    (2, "不是很满意"),
    (2, "不大满意"),
    (2, "不满意"),
    (5, "非常满意"),
    (5, "十分满意"),
    (5, "超级满意"),
    (5, "特别满意"),
    (5, "很满意"),
    (5, "太满意"),
    (5, "相当满意"),
    (4, "比较满意"),
    (4, "挺满意"),
    (4, "还算满意"),
    (4, "基本满意"),
    (4, "还满意"),
    (4, "满意"),
    (5, "好评"),
    (1, "差评"),
    (3, "中评"),
    (1, "极差"),
    (3, "一般般"),
    (3, "一般"),
]
_ADJECTIVES = [
    (1, "非常差"),
    (1, "太差"),
    (1, "很差"),
    (1, "垃圾"),
    (1, "恶劣"),
    (2, "不太好"),
    (2, "不怎么样"),
    (2, "比较差"),
    (2, "较差"),
    (2, "不好"),
    (5, "非常好"),
    (5, "特别好"),
    (5, "太棒"),
    (5, "完美"),
    (5, "很好"),
    (5, "点赞"),
    (5, "没得说"),
    (4, "挺好"),
    (4, "还不错"),
    (4, "不错"),
    (4, "好的很"),
    (3, "不好不坏"),
    (3, "中规中矩"),
    (3, "马马虎虎"),
    (3, "凑合"),
    (3, "还行"),
    (3, "还可以"),
]
# Filler left around the score once it is taken out: 我给, 就…吧, 打个, punctuation.
_PUNCT = r"[\s,，。.!！?？~～、:：;；…\-—]"
_LEADING = re.compile(
    rf"^(?:{_PUNCT}|我|就|给|打|评|个|吧|了|呗|啦|哈|嗯|呢|的|分|哦|还|评价|评分|打分|一下|stars?|ok)+", re.I
)
_TRAILING = re.compile(rf"(?:{_PUNCT}|吧|呗|啦|哈|嗯|哦|的|还|评价|评分|打分|给|打|就|我|stars?|ok)+$", re.I)

# "还没修好": the job is not done, whatever the score.
NOT_FIXED = re.compile(
    r"(还|仍然|依然|根本)?没(有)?修好|没(有)?解决|还是(漏|坏|不行|不亮|堵|不通|没水|没电|滴|渗|响)|"
    r"又(坏|漏|堵|不亮|不行)了?|问题还在|修了等于没修|还在漏|照样漏"
)


@dataclass(frozen=True)
class ParsedRating:
    score: int
    comment: str


def _normalise(text: str) -> str:
    return unicodedata.normalize("NFKC", text or "").strip()


def _first(words: list[tuple[int, str]], text: str) -> tuple[int, int, int] | None:
    """(score, start, end) of the earliest word; at one position the longest (listed first)."""
    best = None
    for score, word in words:
        i = text.find(word)
        if i >= 0 and (best is None or i < best[1] or (i == best[1] and len(word) > best[2] - best[1])):
            best = (score, i, i + len(word))
    return best


def _score_span(text: str) -> tuple[int, int, int] | None:
    found = _ZERO.search(text)
    if found:
        return 1, found.start(), found.end()
    found = _FULL.search(text)
    if found:
        return 5, found.start(), found.end()
    for pattern in _EXPLICIT:
        found = pattern.search(text)
        if found:
            n = max(1, _CN_DIGITS[found.group("n")])
            return n, found.start(), found.end()
    found = _STARS.search(text)
    if found:
        return len(found.group(0)), found.start(), found.end()
    return _first(_VERDICTS, text) or _first(_ADJECTIVES, text)


def _comment(text: str, start: int, end: int) -> str:
    before, after = text[:start], text[end:]
    before, after = _TRAILING.sub("", _LEADING.sub("", before)), _TRAILING.sub("", _LEADING.sub("", after))
    return " ".join(part for part in (before, after) if part)


def parse_rating(text: str) -> ParsedRating | None:
    """The score 1-5 and the rest as a comment, or None when no score is given."""
    text = _normalise(text)
    if not text or text.startswith("/"):
        return None
    found = _score_span(text)
    if found is None:
        return None
    score, start, end = found
    return ParsedRating(score=min(5, max(1, score)), comment=_comment(text, start, end))


def says_not_fixed(text: str) -> bool:
    return bool(NOT_FIXED.search(_normalise(text)))


# Chat-slang goodbyes that look like a score or a rating ("88", "886", "拜拜"): never a rating.
_GOODBYE = re.compile(
    r"^(?:8{2,4}6?|886|拜+|拜拜+[了啦咯喽]?|拜了个拜|白白|bye\s*bye|bye|byebye|再见[啦了]?)"
    r"(?:\s*(?:啦|了|咯|喽|哈|~|～|!|！|。|先下了|谢谢))*$",
    re.I,
)


def is_goodbye(text: str) -> bool:
    return bool(_GOODBYE.match(_normalise(text)))


# Praise in a comment ("来得很快", "师傅很耐心") is thanked, not promised an "改进".
_PRAISE = re.compile(
    r"快|及时|准时|专业|耐心|细心|认真|仔细|热情|负责|干净|利索|麻利|周到|礼貌|辛苦|棒|赞|好|不错|满意|感谢|谢谢"
)
_CRITICISM = re.compile(
    r"不|没|慢|晚|迟|差|乱|脏|贵|凶|坏|漏|问题|态度|敷衍|还是|又|再|希望|建议|下次|改进|但|可是|就是|只是"
)


def is_praise(comment: str) -> bool:
    """True when a rating comment only praises; anything critical keeps it a criticism."""
    text = _normalise(comment)
    return bool(text) and bool(_PRAISE.search(text)) and not _CRITICISM.search(text)


def is_bare_score(text: str) -> bool:
    """ "5", "3分", "4星", "好的": a score with no words of its own (no complaint in it)."""
    return bool(re.fullmatch(r"[0-9一二两三四五★⭐\s]*(?:分|星|颗星)?|好的?|好吧|ok|嗯+|行", _normalise(text), re.I))
