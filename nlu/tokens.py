"""Tokenise exactly as the trained pipeline does, for data checks and evaluation."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

DICT_DIR = Path(__file__).resolve().parent / "dict"


@lru_cache(maxsize=1)
def _jieba():
    import jieba

    jieba.setLogLevel(60)
    for path in sorted(DICT_DIR.glob("*")):
        jieba.load_userdict(str(path))
    return jieba


def tokenize(text: str) -> list[tuple[str, int, int]]:
    """(word, start, end) for every non-space token, as PropertyJiebaTokenizer gives them."""
    return [(w, s, e) for (w, s, e) in _jieba().tokenize(text) if w.strip()]
