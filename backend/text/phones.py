"""Mainland mobile numbers in free text, and masking them for logs and for pages staff read."""

from __future__ import annotations

import re
import unicodedata

# 11 digits starting 1[3-9], optionally grouped by spaces or dashes (138 1234 5678) and
# prefixed by +86 / 0086 / 86. Lookarounds keep it from biting into a longer digit run.
MOBILE_RE = re.compile(r"(?<![\d+])(?:(?:\+|00)?86[\s-]?)?(?P<number>1[3-9]\d(?:[ \t-]?\d){8})(?![\d])")
_DASHES = "‐‑‒–—―−－﹣"


def extract_mobile(text: str) -> str | None:
    if not text:
        return None
    text = unicodedata.normalize("NFKC", text).translate({ord(d): "-" for d in _DASHES})
    m = MOBILE_RE.search(text)
    return re.sub(r"\D", "", m.group("number")) if m else None


def mask(phone: str) -> str:
    """138****5678: enough to recognise a number in a log without leaking it."""
    digits = re.sub(r"\D", "", phone or "")
    if len(digits) >= 7:
        return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]
    return "*" * len(digits)


# Full-width digits and the dashes people type, mapped one character to one, so a match in the
# mapped text is at the same place in the original.
_ONE_TO_ONE = {**{0xFF10 + i: str(i) for i in range(10)}, **{ord(d): "-" for d in _DASHES}, 0x3000: " "}
# A run of 11 or more digits is masked too: a number an owner typed, perhaps a mistyped mobile,
# and a page must never show one whole. (Grouped digits are left to MOBILE_RE: "3-2-501" is an
# address.)
_LONG_RUN_RE = re.compile(r"(?<!\d)\d{11,}(?!\d)")


def mask_phones(text: str) -> str:
    """Every mobile number in free text masked where it stands (厨房漏水，电话138****5678).

    For anything an owner or a colleague typed that a page shows: the only way to a whole number
    is the ticket's audited 显示号码."""
    if not text:
        return text
    mapped = text.translate(_ONE_TO_ONE)
    spans = [m.span("number") for m in MOBILE_RE.finditer(mapped)]
    spans += [
        m.span()
        for m in _LONG_RUN_RE.finditer(mapped)
        if not any(start < m.end() and m.start() < end for start, end in spans)
    ]
    if not spans:
        return text
    out, last = [], 0
    for start, end in sorted(spans):
        out.append(text[last:start])
        out.append(mask(mapped[start:end]))
        last = end
    out.append(text[last:])
    return "".join(out)
