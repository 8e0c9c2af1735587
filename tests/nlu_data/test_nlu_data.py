"""Checks on the NLU training data and the held-out set (no model training).

- every contract intent and `inform` has training examples, at least the agreed number;
- the held-out set covers every intent and never overlaps the training data;
- only contract entities are annotated, and every annotation starts and ends on a token
  boundary of `nlu.tokens.tokenize` (what the pipeline's tokenizer gives), else Rasa drops it;
- rating values are normalised to "1".."5"; utility values to 水/电/燃气/热水.
"""

from __future__ import annotations

import logging
import re
import sys
import unicodedata
from collections import Counter, defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from nlu.tokens import tokenize  # noqa: E402

DATA_DIR = ROOT / "nlu" / "data"
HELDOUT = ROOT / "nlu" / "heldout" / "heldout.yml"
DICT = ROOT / "nlu" / "dict" / "property_words.txt"

CONTRACT_INTENTS = [
    "report_repair",
    "query_ticket_status",
    "complain",
    "query_fee",
    "query_notice",
    "query_outage",
    "rate_service",
    "bind_house",
    "ask_contact",
    "ask_paid_service",
    "request_human",
    "greet",
    "goodbye",
    "thank",
    "affirm",
    "deny",
    "cancel",
    "out_of_scope",
    "suggest",  # 意见/建议 (issue 15)
]
ALL_INTENTS = CONTRACT_INTENTS + ["inform"]
# Decoration management (issue 17): counted and held out in tests/nlu_data/test_nlu_renovation.py.
RENOVATION_INTENTS = ["apply_renovation", "ask_renovation"]

MIN_TRAIN = {
    **{
        i: 60
        for i in [
            "report_repair",
            "complain",
            "query_fee",
            "query_notice",
            "query_outage",
            "query_ticket_status",
            "rate_service",
            "bind_house",
            "ask_contact",
            "ask_paid_service",
            "inform",
            "suggest",
        ]
    },
    "out_of_scope": 100,
    **{
        i: 25
        for i in [
            "greet",
            "goodbye",
            "thank",
            "affirm",
            "deny",
            "cancel",
            "request_human",
        ]
    },
}
MIN_HELDOUT = {**{i: 20 for i in ALL_INTENTS}, "out_of_scope": 40, "inform": 25}

CONTRACT_ENTITIES = {
    "building",
    "unit",
    "room",
    "facility",
    "place",
    "utility",
    "rating",
    "phone",
    "ticket_no",
}
RATING_VALUES = {"1", "2", "3", "4", "5"}
UTILITY_VALUES = {"水", "电", "燃气", "热水"}


def _load(path: Path):
    from rasa.shared.nlu.training_data.loading import load_data

    logging.getLogger("rasa").setLevel(logging.ERROR)
    return load_data(str(path))


@pytest.fixture(scope="module")
def train():
    return _load(DATA_DIR)


@pytest.fixture(scope="module")
def heldout():
    return _load(HELDOUT)


def _norm(text: str) -> str:
    """Lower-case, without whitespace, punctuation or symbols (！？…，。★ etc.)."""
    return "".join(
        ch
        for ch in unicodedata.normalize("NFKC", text).lower()
        if not ch.isspace() and unicodedata.category(ch)[0] not in "PSZ"
    )


def _examples(data):
    return [ex for ex in data.training_examples if ex.get("intent")]


def test_training_intents_and_minimum_counts(train):
    counts = Counter(ex.get("intent") for ex in _examples(train))
    missing = [i for i in ALL_INTENTS if counts[i] == 0]
    assert not missing, f"intents without training examples: {missing}"
    short = {i: (counts[i], n) for i, n in MIN_TRAIN.items() if counts[i] < n}
    assert not short, f"intents below their minimum (have, need): {short}"
    unknown = set(counts) - set(ALL_INTENTS) - set(RENOVATION_INTENTS)
    assert not unknown, f"intents outside the contract and `inform`: {unknown}"


def test_heldout_covers_every_intent(heldout):
    counts = Counter(ex.get("intent") for ex in _examples(heldout))
    short = {i: (counts[i], n) for i, n in MIN_HELDOUT.items() if counts[i] < n}
    assert not short, f"held-out intents below their minimum (have, need): {short}"
    unknown = set(counts) - set(ALL_INTENTS) - set(RENOVATION_INTENTS)
    assert not unknown, f"held-out intents outside the contract and `inform`: {unknown}"


def test_heldout_never_in_training(train, heldout):
    seen = {_norm(ex.get("text")) for ex in _examples(train)}
    leaked = [ex.get("text") for ex in _examples(heldout) if _norm(ex.get("text")) in seen]
    assert not leaked, f"held-out examples also in training: {leaked}"


# heldout_b.yml is left out: written by other hands after the training data, it holds 13 lines that
# were already training lines (cya, ty, sure, 喂 是物业吗。 …) when issue 14 found them; kept as it
# was so its figures stay comparable (docs/NLU.md says so).
@pytest.mark.parametrize("name", ["heldout_c.yml", "heldout_d.yml"])
def test_later_heldout_sets_never_in_training(train, name):
    seen = {_norm(ex.get("text")) for ex in _examples(train)}
    later = _load(HELDOUT.parent / name)
    leaked = [ex.get("text") for ex in _examples(later) if _norm(ex.get("text")) in seen]
    assert not leaked, f"{name} examples also in training: {leaked}"


@pytest.mark.parametrize("which", ["train", "heldout"])
def test_no_text_labelled_with_two_intents(which, request):
    data = request.getfixturevalue(which)
    labels = defaultdict(set)
    for ex in _examples(data):
        labels[_norm(ex.get("text"))].add(ex.get("intent"))
    clashes = {t: sorted(i) for t, i in labels.items() if len(i) > 1}
    assert not clashes, f"same text under different intents: {clashes}"


@pytest.mark.parametrize("which", ["train", "heldout"])
def test_only_contract_entities(which, request):
    data = request.getfixturevalue(which)
    used = {e["entity"] for ex in _examples(data) for e in ex.get("entities") or []}
    assert used <= CONTRACT_ENTITIES, f"non-contract entities: {used - CONTRACT_ENTITIES}"


@pytest.mark.parametrize("which", ["train", "heldout"])
def test_entities_align_with_tokens(which, request):
    data = request.getfixturevalue(which)
    bad = []
    for ex in _examples(data):
        text = ex.get("text")
        tokens = tokenize(text)
        starts = {s for _, s, _ in tokens}
        ends = {e for _, _, e in tokens}
        for ent in ex.get("entities") or []:
            if ent["start"] not in starts or ent["end"] not in ends:
                bad.append(
                    f"{text!r}: {ent['entity']}={text[ent['start'] : ent['end']]!r} "
                    f"tokens={'|'.join(w for w, _, _ in tokens)}"
                )
    assert not bad, "annotations off token boundaries:\n" + "\n".join(bad)


def _resolved(ent, synonyms):
    value = str(ent.get("value", ""))
    return synonyms.get(value.lower(), value)


@pytest.mark.parametrize("which", ["train", "heldout"])
def test_rating_and_utility_values_normalised(which, request, train):
    data = request.getfixturevalue(which)
    synonyms = train.entity_synonyms
    bad = []
    for ex in _examples(data):
        for ent in ex.get("entities") or []:
            value = _resolved(ent, synonyms)
            if ent["entity"] == "rating" and value not in RATING_VALUES:
                bad.append((ex.get("text"), "rating", value))
            if ent["entity"] == "utility" and value not in UTILITY_VALUES:
                bad.append((ex.get("text"), "utility", value))
    assert not bad, f"values not normalised: {bad}"


def test_rating_synonyms_are_1_to_5(train):
    """Synonyms whose value is a number are rating synonyms: only 1..5."""
    numeric = {k: v for k, v in train.entity_synonyms.items() if re.fullmatch(r"\d+", v)}
    assert numeric, "no rating synonyms found"
    bad = {k: v for k, v in numeric.items() if v not in RATING_VALUES}
    assert not bad, f"rating synonyms outside 1..5: {bad}"
    for word in ["五星", "好评", "差评", "很满意", "不满意", "一般"]:
        assert train.entity_synonyms.get(word) in RATING_VALUES, word
    for word in ["煤气", "天然气"]:
        assert train.entity_synonyms.get(word) == "燃气", word


def test_lookup_tables_present(train):
    names = {t["name"] for t in train.lookup_tables}
    assert {"facility", "place"} <= names
    regexes = {r["name"] for r in train.regex_features}
    assert {"phone", "ticket_no"} <= regexes
    phone = next(r["pattern"] for r in train.regex_features if r["name"] == "phone")
    assert re.search(phone, "电话13812345678") and not re.search(phone, "12812345678")


def test_dictionary_keeps_facilities_apart():
    """Facility words must be their own tokens, not glued into bigger ones (灯不亮, 灯坏)."""
    assert DICT.exists()
    cases = {
        "楼道灯不亮了": ["楼道", "灯"],
        "楼道灯坏了": ["楼道", "灯"],
        "3栋2单元501厨房水管漏了": ["3", "栋", "2", "单元", "501", "厨房", "水管"],
        "地下车库B2": ["地下车库", "B2"],
        "卫生间地漏返水": ["卫生间", "地漏"],
        "防盗门锁坏了": ["防盗门", "锁"],
        "客厅灯闪了": ["客厅", "灯"],
        "卧室的门坏了": ["卧室", "门"],
        "明天停水吗": ["停水"],
        "物业费和滞纳金": ["物业费", "滞纳金"],
    }
    for text, expected in cases.items():
        words = [w for w, _, _ in tokenize(text)]
        for w in expected:
            assert w in words, f"{text}: {w!r} not a token in {words}"
