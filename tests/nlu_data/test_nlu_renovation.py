"""The decoration intents (issue 17): enough training examples, a held-out set of their own
(nlu/heldout/renovation.yml) that never overlaps training, and no renovation rule question left
under the notice or fee intents (it used to get the notice list or the fee card)."""

from __future__ import annotations

from collections import Counter

import pytest

from tests.nlu_data.test_nlu_data import DATA_DIR, ROOT, _examples, _load, _norm

HELDOUT = ROOT / "nlu" / "heldout" / "renovation.yml"


@pytest.fixture(scope="module")
def train():
    return _load(DATA_DIR)


@pytest.fixture(scope="module")
def heldout():
    return _load(HELDOUT)


def test_training_and_heldout_counts(train, heldout):
    trained = Counter(ex.get("intent") for ex in _examples(train))
    held = Counter(ex.get("intent") for ex in _examples(heldout))
    for intent in ("apply_renovation", "ask_renovation"):
        assert trained[intent] >= 50, (intent, trained[intent])
        assert held[intent] >= 20, (intent, held[intent])


def test_heldout_never_in_training(train, heldout):
    seen = {_norm(ex.get("text")) for ex in _examples(train)}
    leaked = [ex.get("text") for ex in _examples(heldout) if _norm(ex.get("text")) in seen]
    assert not leaked


def test_rule_questions_are_no_longer_notices_or_fees(train):
    wrong = [
        (ex.get("intent"), ex.get("text"))
        for ex in _examples(train)
        if ex.get("intent") in ("query_notice", "query_fee", "ask_contact")
        and any(w in ex.get("text") for w in ("装修时间", "装修押金", "装修保证金", "装修管理", "装修审批", "可以装修"))
    ]
    assert not wrong
