"""The dashboard and docs/OPERATIONS.md ask only for metrics the code produces."""

from __future__ import annotations

import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SOURCES = [ROOT / "backend" / "core" / "metrics.py"]


def produced() -> set[str]:
    return {name for src in SOURCES for name in re.findall(r'"(wuye_[a-z0-9_]+)"', src.read_text())}


def asked(text: str) -> set[str]:
    names = set(re.findall(r"\b(wuye_[a-z0-9_]+)", text))
    return {re.sub(r"_(total|bucket|count|sum)$", "", n) for n in names}


def test_every_dashboard_query_names_a_metric_the_code_produces():
    dashboard = json.loads((ROOT / "docs" / "grafana-dashboard.json").read_text())
    exprs = [t["expr"] for panel in dashboard["panels"] for t in panel["targets"]]
    assert len(exprs) >= 5
    unknown = asked("\n".join(exprs)) - produced()
    assert not unknown, f"the dashboard asks for metrics nobody produces: {unknown}"


def test_every_promql_in_operations_names_a_metric_the_code_produces():
    text = (ROOT / "docs" / "OPERATIONS.md").read_text()
    section = text.split("## Metrics and what to watch", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```promql\n(.*?)```", section, re.S)
    assert len(blocks) >= 5  # the five figures
    unknown = asked("\n".join(blocks)) - produced()
    assert not unknown, f"docs/OPERATIONS.md asks for metrics nobody produces: {unknown}"
