"""Imports for the service desk's data: each community's desk hours and 24-hour line, and fee
items beyond the monthly property fee (车位, 临时停车, 装修保证金, 水电代收), with row errors
like every other import."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select

from backend.core.models import Community, FeeStandard
from backend.owners.communities import desk_hours_a_day
from backend.owners.imports import import_file
from tests.backend.test_backend_imports_messy import estate, reasons, write_csv


def test_desk_hours_and_the_24_hour_line_per_community(session, tmp_path):
    path = write_csv(
        tmp_path / "c.csv",
        ["小区编码", "小区名称", "服务等级", "服务电话", "服务时间", "每天服务时长", "电话24小时"],
        [
            ["A1", "一号院", "1", "0571-1000", "全天", "24小时", "是"],
            ["B2", "二号院", "2", "0571-2000", "08:00-20:00", "", "否"],
            ["C3", "三号院", "3", "0571-3000", "9:00-17:00", "", ""],
        ],
    )
    report = import_file(session, "communities", path)
    assert report.ok, reasons(report)
    got = {
        c.code: (c.desk_hours_per_day, desk_hours_a_day(c), c.has_24h_line)
        for c in session.execute(select(Community)).scalars()
    }
    assert got == {"A1": (24, 24, True), "B2": (None, 12, False), "C3": (None, 8, False)}


def test_bad_desk_hours_and_flags_are_row_errors_and_nothing_is_written(session, tmp_path):
    path = write_csv(
        tmp_path / "c.csv",
        ["小区编码", "小区名称", "每天服务时长", "电话24小时"],
        [["A1", "一号院", "30", "是"], ["B2", "二号院", "12", "有的"]],
    )
    report = import_file(session, "communities", path)
    assert not report.ok
    text = reasons(report)
    assert "第2行" in text and "1 到 24 之间的小时数" in text
    assert "第3行" in text and "「有的」应填 是 或 否" in text
    assert session.execute(select(Community)).first() is None


def test_fee_items_with_their_own_units_and_notes(session, tmp_path):
    estate(session, tmp_path)
    path = write_csv(
        tmp_path / "f.csv",
        ["小区", "收费项目", "单价", "计费单位", "说明"],
        [
            ["T1", "物业费", "2.80", "元/m²/月", ""],
            ["T1", "车位管理费", "80", "元/个/月", "地下车位"],
            ["T1", "临时停车", "5", "元/小时", "首小时免费"],
            ["T1", "装修保证金", "2000", "一次性", "验收合格后退还"],
            ["T1", "水电代收", "4.10", "元/吨", ""],
        ],
    )
    report = import_file(session, "fee-standards", path)
    assert report.ok, reasons(report)
    got = {
        s.item: (s.unit_price, s.per_area, s.period_unit, s.note)
        for s in session.execute(select(FeeStandard)).scalars()
    }
    assert got == {
        "物业费": (Decimal("2.8000"), True, "月", ""),
        "车位管理费": (Decimal("80.0000"), False, "月", "地下车位"),
        "临时停车": (Decimal("5.0000"), False, "小时", "首小时免费"),
        "装修保证金": (Decimal("2000.0000"), False, "一次性", "验收合格后退还"),
        "水电代收": (Decimal("4.1000"), False, "吨", ""),
    }
    again = import_file(session, "fee-standards", path)
    assert again.ok and (again.inserted, again.updated, again.unchanged) == (0, 0, 5)


def test_a_unit_nobody_charges_by_is_a_row_error(session, tmp_path):
    estate(session, tmp_path)
    path = write_csv(
        tmp_path / "f.csv",
        ["小区", "收费项目", "单价", "计费单位"],
        [["T1", "车位管理费", "80", "元/个/月"], ["T1", "西瓜", "3", "元/斤"]],
    )
    report = import_file(session, "fee-standards", path)
    assert not report.ok and "第3行" in reasons(report) and "计费单位「元/斤」认不出来" in reasons(report)
    assert session.execute(select(FeeStandard)).first() is None
