"""Conversation tests in Rasa's own format: tests/conversations/stories/*.yml (test stories with
the owner's words) run by `rasa test core` against the trained model. Each story's words go
through the NLU and each next action through the policies; any difference fails the test.

Heavy (loads the model): run it under the shared lock on a busy machine, like tests/e2e.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
STORIES = Path(__file__).resolve().parent / "stories"


def test_every_conversation_story_holds(tmp_path):
    sys.path.insert(0, str(ROOT))
    from scripts import stack

    try:
        model = stack.latest_model()
    except FileNotFoundError as exc:
        pytest.fail(f"{exc} (make test trains first)")
    env = {**os.environ, "RASA_TELEMETRY_ENABLED": "false", "TF_CPP_MIN_LOG_LEVEL": "2"}
    run = subprocess.run(
        [
            str(Path(sys.executable).parent / "rasa"),
            "test",
            "core",
            "--model",
            str(model),
            "--stories",
            str(STORIES),
            "--out",
            str(tmp_path),
            "--no-plot",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    failed = (
        (tmp_path / "failed_test_stories.yml").read_text(encoding="utf-8")
        if (tmp_path / "failed_test_stories.yml").exists()
        else ""
    )
    report = json.loads((tmp_path / "story_report.json").read_text(encoding="utf-8"))
    stories = len([s for f in STORIES.glob("*.yml") for s in f.read_text(encoding="utf-8").split("- story:")[1:]])
    assert stories >= 15
    assert "- story:" not in failed, f"conversation stories that failed:\n{failed}"
    assert report["accuracy"] == 1.0, json.dumps(report.get("weighted avg"), ensure_ascii=False)


def test_rasa_data_validate_finds_no_error():
    env = {**os.environ, "RASA_TELEMETRY_ENABLED": "false", "TF_CPP_MIN_LOG_LEVEL": "2"}
    run = subprocess.run(
        [
            str(Path(sys.executable).parent / "rasa"),
            "data",
            "validate",
            "--domain",
            "bot/domain",
            "--data",
            "bot/data",
            "nlu/data",
            "--config",
            "bot/config.yml",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    out = run.stdout + run.stderr
    assert run.returncode == 0, out[-3000:]
    assert "No story structure conflicts found" in out, out[-3000:]
    assert not [line for line in out.splitlines() if " ERROR " in line], out[-3000:]
