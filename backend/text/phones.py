"""Mainland mobile numbers in free text, and masking them for logs."""
from __future__ import annotations

import re
import unicodedata

# 11 digits starting 1[3-9], optionally grouped by spaces or dashes (138 1234 5678) and
# prefixed by +86 / 0086 / 86. Lookarounds keep it from biting into a longer digit run.
MOBILE_RE = re.compile(
    r"(?<![\d+])(?:(?:\+|00)?86[\s-]?)?(?P<number>1[3-9]\d(?:[ \t-]?\d){8})(?![\d])"
)
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
