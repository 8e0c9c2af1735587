"""`make eval-nlu`: the trained model on our held-out set (nlu/heldout/, never in training).

Writes docs/NLU.md: accuracy, macro-F1, per-intent scores, every confusion, and the sweep used to
calibrate the FallbackClassifier threshold. Predicting nlu_fallback for out_of_scope is correct.
"""

from __future__ import annotations

import asyncio
import logging
import os
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")

ROOT = Path(__file__).resolve().parent.parent
HELDOUT = ROOT / "nlu" / "heldout"
REPORT = ROOT / "docs" / "NLU.md"
FALLBACK = "nlu_fallback"
# Measured rows added by hand after each training run (see docs/NLU.md).
TRADE_OFF_ROWS: list[str] = [
    "| 40 epochs, 1 transformer layer | + 90 lines by category after heldout_c's first errors"
    " | 3.3 min | 0.978 | 0.956 | 0.970 | — | — | — | — |",
    "| 40 epochs, 1 transformer layer | + 60 lines by category after the 2nd training"
    " | 4.3 min (tests running alongside) | 0.975 | 0.966 | 0.993 | — | — | — | — |",
    "| 40 epochs, 1 transformer layer | + 17 lines by category after the 3rd training"
    " | 3.9 min | 0.973 | 0.976 | 0.989 | — | — | — | — |",
    "| 40 epochs, 1 transformer layer | the three branches merged (+ decoration, suggestions)"
    " | 4.2 min (rules from cache; tests alongside) | 0.977 | 0.961 | 0.974 | — | — | — | — |",
    "| 40 epochs, 1 transformer layer | + 40 lines by category after the merge | 4.0 min (rules from cache; tests alongside)"
    " | 0.979 | 0.966 | 0.978 | 0.909 | 0.966 (evaluated at the end) | — | — |",
    "| 40 epochs, 1 transformer layer | the same data, a clean clone (`.ci/run`, no cache), quiet machine"
    " | 4 min 4 s | same model (fingerprint a05beb17) | | | — | — | — | — |",
    # issue 14, helper conv2 (heldout_d written blind first; renovation.yml counted from here on)
    "| 40 epochs, 1 transformer layer | + 103 lines by category (decoration progress and 可以/能 questions,"
    " stopping one named thing, small talk, suggestions about notices, …)"
    " | 4.2 min (machine shared) | 0.970 (415/428) | 0.985 | 0.996 | 0.955 | — | — | — |",
    "| 40 epochs, 1 transformer layer | + 50 lines by category after that training"
    " | 4.1 min (machine shared) | 0.981 | 0.990 | 0.996 | 1.000 | — | — | — |",
    "| 40 epochs, 1 transformer layer | + 10 lines: a community's name alone is an answer (final model aa551554)"
    " | 3.3 min (machine shared) | 0.981 | 0.990 | 0.985 | 0.977 | 0.961 (once, at the end) | — | — |",
    "| 40 epochs, 1 transformer layer | the branches merged, + 20 lines for correcting a returned decoration"
    " application (apply again; a change said in the form is inform); model 7756ebbf"
    " | 4.1 min (rules retrained; machine quiet) | 0.974 | 0.995 | 0.989 | 0.977 | 0.970 (second look) | 0.962 (run at the end, for comparison) | 107/114 |",
    # issue 14, helper nlu3 (heldout_e written blind by another hand before any of these trainings;
    # off-topic rejected counts out_of_scope or nlu_fallback over the sets before heldout_e)
    "| 40 epochs, 1 transformer layer | + 182 lines by category (off-topic: time and date, weather, jokes, cooking,"
    " sports, health, shopping, lottery, games, homework, translation, the assistant, transport; owner requests"
    " near them) | 6.4 min (machine shared, 7.3–7.6 s an epoch) | 0.979 | 0.995 | 0.985 | 0.977 | 0.978 | — | 111/114 |",
    "| 40 epochs, 1 transformer layer | − 4 lines (other places' phones and hours pulled 周末上班吗 out of scope)"
    " + 10 | 6.0 min (action tests alongside) | 0.972 | 0.976 | 0.981 | 0.977 | 0.978 | — | 109/114 |",
    "| 40 epochs, 1 transformer layer | − 2 lines, + 12 (short time questions, English small talk, prices)"
    " | 6.6 min (machine shared) | 0.979 | 0.976 | 0.985 | 1.000 | 0.978 | — | 109/114 |",
    "| 40 epochs, 1 transformer layer | + 3 lines: 客服电话 alone is ask_contact (out_of_scope in every model before)"
    " | 4.4 min (machine quiet, 4.2–5.5 s an epoch) | 0.981 | 0.981 | 0.981 | 0.977 | 0.974 | — | 110/114 |",
    "| 40 epochs, 1 transformer layer | − 2, + 8 lines: the dates of the office's work, when the repairman comes"
    " (final model 7e6d9998) | 5.2 min (machine shared, 6.9–7.4 s an epoch) | 0.981 | 0.985 | 0.981 | 0.977 | 0.974"
    " | 0.962 (once, at the end) | 108/114 (138/145 with heldout_e) |",
    "| 40 epochs, 1 transformer layer, random_seed 4242 instead of 20261123 (not kept) | the same data as the row"
    " above (model d29769e7) | 5.3 min (machine shared) | 0.986 | 0.981 | 0.996 | 0.977 | 0.978"
    " | 0.965 (with the final model's evaluation) | 112/114 (143/145 with heldout_e) |",
]


def load_heldout(skip: tuple[str, ...] = ()):
    """(text, intent, file) for every held-out example (every file in nlu/heldout/ but `skip`)."""
    from rasa.shared.nlu.training_data.loading import load_data

    examples = []
    for path in sorted(HELDOUT.glob("*.yml")):
        if path.name in skip:
            continue
        examples += [(m.get("text"), m.get("intent"), path.name) for m in load_data(str(path)).intent_examples]
    return examples


def is_correct(expected: str, predicted: str) -> bool:
    return predicted == expected or (expected == "out_of_scope" and predicted == FALLBACK)


async def parse_all(model: str, examples):
    from rasa.core.agent import Agent

    agent = Agent.load(model)
    rows, times = [], []
    for text, expected, source in examples:
        started = time.perf_counter()
        result = await agent.parse_message(text)
        times.append((time.perf_counter() - started) * 1000)
        ranking = [r for r in result.get("intent_ranking", []) if r["name"] != FALLBACK]
        top, second = (ranking + [{"name": None, "confidence": 0.0}] * 2)[:2]
        rows.append(
            {
                "text": text,
                "expected": expected,
                "predicted": result["intent"]["name"],
                "source": source,
                "raw": top["name"],
                "confidence": top["confidence"],
                "margin": top["confidence"] - second["confidence"],
            }
        )
    return rows, times


def percentile(values, q):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def sweep(rows, thresholds=(0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.7)):
    """What each fallback threshold would give: accuracy, in-scope lost, out-of-scope caught."""
    lines = []
    for t in thresholds:
        correct = in_lost = oos_caught = 0
        in_total = sum(r["expected"] != "out_of_scope" for r in rows)
        oos_total = len(rows) - in_total
        for r in rows:
            predicted = r["raw"] if r["confidence"] >= t else FALLBACK
            correct += is_correct(r["expected"], predicted)
            if r["expected"] != "out_of_scope" and predicted == FALLBACK:
                in_lost += 1
            if r["expected"] == "out_of_scope" and predicted in ("out_of_scope", FALLBACK):
                oos_caught += 1
        lines.append(f"| {t:.2f} | {correct / len(rows):.3f} | {in_lost}/{in_total} | {oos_caught}/{oos_total} |")
    return lines


def per_source(rows):
    for src in sorted({r["source"] for r in rows}):
        mine = [r for r in rows if r["source"] == src]
        yield src, sum(is_correct(r["expected"], r["predicted"]) for r in mine) / len(mine), len(mine)


def out_of_scope_caught(rows) -> str:
    """ "x/y" off-topic examples that came out as out_of_scope or nlu_fallback, with the misses per file."""
    oos = [r for r in rows if r["expected"] == "out_of_scope"]
    missed = [r for r in oos if r["predicted"] not in ("out_of_scope", FALLBACK)]
    by_file = Counter(r["source"] for r in missed)
    where = "; missed: " + ", ".join(f"{n} in `{src}`" for src, n in sorted(by_file.items())) if missed else ""
    return f"{len(oos) - len(missed)}/{len(oos)}{where}"


def report(rows, times, model: str) -> str:
    from sklearn.metrics import f1_score, precision_recall_fscore_support

    expected = [r["expected"] for r in rows]
    predicted = [r["expected"] if is_correct(r["expected"], r["predicted"]) else r["predicted"] for r in rows]
    accuracy = sum(e == p for e, p in zip(expected, predicted)) / len(rows)
    labels = sorted(set(expected))
    macro = f1_score(expected, predicted, labels=labels, average="macro", zero_division=0)
    p, r, f, s = precision_recall_fscore_support(expected, predicted, labels=labels, zero_division=0)
    confusions = Counter((e, pr) for e, pr in zip(expected, predicted) if e != pr)
    out = [
        "# NLU quality on the held-out set",
        "",
        "Measured by `make eval-nlu` (nlu/evaluate.py) on `nlu/heldout/`, examples written apart from the",
        "training data and never trained on. Predicting `nlu_fallback` for out_of_scope counts as correct.",
        "`heldout.yml` was written with the first training data and its errors were looked at once to find",
        "weak categories (new training lines were written by category, never copied), so its figure is",
        "somewhat optimistic; `heldout_b.yml` was written later by other hands, before any result was seen.",
        "`heldout_c.yml` (issue 14) was written blind before any result on it: owners who are not bound naming",
        "their home, fee questions with an address, faults told as a state (暖气不热), 师傅几点来, chat-slang",
        "goodbyes, emergencies. Its errors after the first training were looked at once, by category, and new",
        "training lines written for those categories (never copied), so from the second training on it is",
        "somewhat optimistic too. A bare address (5栋201, 我家是…) is `inform` in every set: the dialogue turns",
        "it into binding when the owner is not bound. `heldout_c.yml`'s 装修有什么规定 was relabelled",
        "`ask_renovation` when decoration rules became their own intent, as in the other sets.",
        "`heldout_d.yml` (issue 14, fourth set, 232 messages over every intent) was written blind before",
        "any training on the data it measures, by the same hands that then wrote the training lines for",
        "the other sets' errors; it was evaluated once, at the end (the last rows of the table below).",
        "`heldout_e.yml` (issue 14, fifth set, 286 messages over every intent, 31 of them off-topic) was",
        "written blind by another hand, on its own branch, before any result of the trainings it measures;",
        "the sixth pass of training lines (helper nlu3) was written and trained without looking at it, and",
        "it was evaluated once, with the final model (its column in the table below). From heldout_d on,",
        "heldout_d's errors were looked at by category like the older sets', so only heldout_e is still blind.",
        "One of its lines (今天是几月几号) is all but a training line written before it was seen (今天是几月几号啊).",
        "`renovation.yml` holds the decoration intents (issue 17). `heldout_b.yml` holds 13 short lines that",
        "are also training lines (cya, ty, sure, 喂 是物业吗。 …), found in issue 14 and left in so its figures",
        "stay comparable; its figure is optimistic by about that much.",
        "",
        f"- model: `{Path(model).name}`",
        f"- examples: {len(rows)} across {len(labels)} intents",
        f"- **accuracy: {accuracy:.3f}**",
        f"- **macro-F1: {macro:.3f}**",
        *[f"- accuracy on `{src}`: {acc:.3f} ({n} examples)" for src, acc, n in per_source(rows)],
        f"- **out-of-scope rejected** (out_of_scope or nlu_fallback): {out_of_scope_caught(rows)}",
        f"- parse time in process: median {statistics.median(times):.1f} ms, p95 {percentile(times, 95):.1f} ms, p99 {percentile(times, 99):.1f} ms",
        "",
        "## Per intent",
        "",
        "| intent | precision | recall | F1 | examples |",
        "|---|---|---|---|---|",
    ]
    out += [f"| {label} | {p[i]:.2f} | {r[i]:.2f} | {f[i]:.2f} | {s[i]} |" for i, label in enumerate(labels)]
    out += ["", "## Confusions (expected → predicted)", ""]
    if confusions:
        out += ["| expected | predicted | count | examples |", "|---|---|---|---|"]
        for (e, pr), n in confusions.most_common():
            texts = [x["text"] for x in rows if x["expected"] == e and (x["predicted"] == pr)][:3]
            out.append(f"| {e} | {pr} | {n} | {' / '.join(texts)} |")
    else:
        out.append("None.")
    out += [
        "",
        "## Fallback threshold calibration",
        "",
        "The FallbackClassifier threshold in `bot/config.yml` is chosen from this sweep: the lowest",
        "threshold that catches off-topic messages without sending real requests to the fallback.",
        "",
        "| threshold | accuracy | in-scope sent to fallback | out-of-scope caught |",
        "|---|---|---|---|",
        *sweep(rows),
        "",
        "## How the pipeline was chosen (measured 2026-11-23 on these held-out sets)",
        "",
        "| training data | count features | accuracy |",
        "|---|---|---|",
        "| 1,450 examples | word + char_wb 1–3 | 0.906 |",
        "| 1,450 examples | word + char 1–3 | 0.916 |",
        "| 2,250 examples | word + char 1–3 | 0.969 |",
        "| 2,250 examples | word + char_wb 1–3 + char 2–3 (chosen) | 0.959–0.965 |",
        "",
        "More varied training data mattered most. Character n-grams across jieba's word boundaries",
        "help with negations and typos (不报修, 报俢); the within-word char_wb features are kept too.",
        "The range on the chosen row is two trainings of the same configuration on two cores.",
        "",
        "## Training time against accuracy (issue 14, two cores shared with other work)",
        "",
        "`rasa train` of the whole model (NLU and rules), wall clock from start to the saved model.",
        "",
        "| DIET | training data | training time | heldout | heldout_b | heldout_c | renovation | heldout_d"
        " | heldout_e | off-topic rejected |",
        "|---|---|---|---|---|---|---|---|---|---|",
        "| 60 epochs, 2 transformer layers | 2,250 examples | 6.5 min | 0.968 | 0.951 | — | — | — | — | — |",
        "| 40 epochs, 1 transformer layer | + 170 lines (owners' own phrasing)"
        " | 5.8 min (first epoch 54 s: machine busy; later epochs 4–5 s) | 0.975 | 0.981 | 0.951 | — | — | — | — |",
        *TRADE_OFF_ROWS,
        "",
        "An epoch costs 4–5 s once the graph is built (40 epochs about 3.3 min of the total; the rest is",
        "featurizing, the rules and saving). Fewer epochs and one transformer layer were changed together,",
        "so their shares of the saving were not timed apart. Accuracy came from the data (the classes",
        "owners phrase in their own way), not from more epochs. Timings on this machine vary with what",
        "else runs on its two cores. The first 40-epoch row trained everything afresh (no cache); the later",
        "rows restored the unchanged rules (RulePolicy) from Rasa's cache and trained the NLU afresh.",
        "On the merge row heldout_c's 0.978 counted 装修有什么规定 as query_notice; relabelled ask_renovation the",
        "same model scores 0.981 there. The three conv2 rows were the only trainings on that data (each after",
        "looking, by category, at the errors on heldout, heldout_b, heldout_c and renovation, never at",
        "heldout_d); heldout_d was evaluated once, with the final model, and the model before it was run on",
        "heldout_d at the same time for comparison. The merged model (last row) was trained once more with",
        "20 lines on resubmitting a returned decoration application, written from the decoration tests, not",
        "from heldout_d's errors; its 0.970 on heldout_d against 0.961 is partly that and partly the spread",
        "between trainings, which was not measured then (see below).",
        "",
        "The sixth pass (helper nlu3, the last six rows) went after off-topic messages that reached an",
        "intent: 7 of 114 with model 7756ebbf. Each training after the first dropped or moved lines that had",
        "pulled owners' own requests out of scope (周末上班吗, 客服电话, 今年供暖几号开始 and 给个时间 once",
        "time-of-day lines used 几号/时间). Off-topic rejected is 108/114 on the older sets with the final",
        "model and 30/31 on heldout_e (model 7756ebbf, run on heldout_e afterwards for comparison: 27/31,",
        "and 0.962 there too); what still gets through is mostly 几点 read as office hours (现在几点,",
        "电影院几点开门) and the odd one out (射手座今天运气如何, 你住哪, 后天天气咋样). The action answering",
        "ask_contact declines a clock or calendar question that names no office, person or hours",
        "(actions/services.py `asks_the_clock`), so 现在几点 gets the decline rather than phone numbers;",
        "inside a flow the form's own reading and the rules decline off-topic messages, outside one the",
        "others get the intent's answer. The aim of 0.97 on every set was not met on heldout_e (0.962).",
        "",
        "**Spread between trainings.** The final data was trained a second time with another DIET",
        "random_seed (4242, not kept; last row). The two models differ by up to 0.015 on a set (heldout_c",
        "0.981 against 0.996, 4 messages) and by 4 off-topic messages (108 against 112 of 114); on heldout_e",
        "0.962 against 0.965. The trainings of this pass, whose data changed by a few lines each, moved as",
        "much (heldout_b 0.995 → 0.976 → 0.985). A difference of 0.005 between two trainings (one or two",
        "messages on a set) means nothing; only differences of 0.02 or more, or the same message wrong in",
        "every training, say something about the data.",
        "",
    ]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(description="the trained model on nlu/heldout/; writes docs/NLU.md")
    parser.add_argument(
        "--skip",
        action="append",
        default=[],
        metavar="FILE",
        help="leave a held-out file out (e.g. a blind set kept for the last evaluation); docs/NLU.md is then not written",
    )
    args = parser.parse_args(argv)
    logging.disable(logging.WARNING)
    sys.path.insert(0, str(ROOT))
    from scripts.stack import latest_model

    model = os.environ.get("NLU_MODEL") or str(latest_model())
    examples = load_heldout(tuple(args.skip))
    rows, times = asyncio.run(parse_all(model, examples))
    text = report(rows, times, model)
    if not args.skip:  # the report stands for every held-out set or is not written
        REPORT.parent.mkdir(exist_ok=True)
        REPORT.write_text(text, encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
