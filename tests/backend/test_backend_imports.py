"""Importing staff spreadsheets: every bad row reported by number, nothing half-imported, the
same file twice changes nothing; CSV (UTF-8 and GBK) and .xlsx. On SQLite and PostgreSQL."""

from __future__ import annotations

import csv
from decimal import Decimal

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from backend.cli.demo import DEMO_DIR, seed_demo
from backend.core import db
from backend.core.models import Building, Community, FeeBill, FeePayment, House, Notice, Resident
from backend.owners.imports import ImportFailed, files_in, import_file, import_files


def count(session, model) -> int:
    return session.execute(select(func.count()).select_from(model)).scalar_one()


def write_csv(path, header, rows, encoding="utf-8"):
    with open(path, "w", newline="", encoding=encoding) as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def estate(session, tmp_path):
    """One community with one building, enough for house and resident files."""
    import_file(
        session,
        "communities",
        write_csv(tmp_path / "c.csv", ["小区编码", "小区名称", "服务电话"], [["T1", "测试花园", "0571-1234 5678"]]),
    )
    import_file(
        session, "buildings", write_csv(tmp_path / "b.csv", ["小区", "楼栋"], [["T1", "3栋"], ["T1", "A区5栋"]])
    )


def test_demo_folder_imports_and_a_second_import_changes_nothing(session):
    first = seed_demo(session)
    assert all(r.ok for r in first)
    assert count(session, Community) == 2
    houses, bills = count(session, House), count(session, FeeBill)
    # Two quarters of 物业费 for every house, and one parking bill (3栋2单元501's 车位管理费).
    assert houses > 300 and bills == 2 * houses + 1
    again = import_files(session, files_in(DEMO_DIR))
    assert all(r.inserted == 0 and r.updated == 0 and r.unchanged == r.rows for r in again)
    assert (count(session, House), count(session, FeeBill)) == (houses, bills)


def test_every_bad_row_is_reported_by_its_number_and_nothing_is_written(session, tmp_path):
    estate(session, tmp_path)
    path = write_csv(
        tmp_path / "houses.csv",
        ["小区", "楼栋", "单元", "房号", "建筑面积（m²）"],
        [
            ["T1", "3", "2", "501", "89.50"],  # row 2: good
            ["T1", "3", "2", "502", "abc"],  # row 3: area not a number
            ["T1", "9", "1", "101", "90"],  # row 4: no such building
            ["T1", "3", "2", "501", "89.50"],  # row 5: same house as row 2
            ["", "", "", "", ""],  # row 6: blank, skipped
            ["T1", "3", "", "50", "70"],  # row 7: room too short
            ["XX", "3", "1", "101", "70"],  # row 8: no such community
            ["T1", "A5", "1", "901", "89.123"],  # row 9: three decimals
        ],
    )
    report = import_file(session, "houses", path)
    assert not report.ok
    assert [e.row for e in report.errors] == [3, 4, 5, 7, 8, 9]
    reasons = {e.row: e.reason for e in report.errors}
    assert "不是数字" in reasons[3] and "楼栋「9栋」不在这个小区" in reasons[4]
    assert "与第2行重复" in reasons[5] and "房号" in reasons[7] and "小区「XX」不存在" in reasons[8]
    assert "小数位" in reasons[9]
    assert str(report.errors[0]).startswith("第3行「建筑面积（m²）」：")
    assert count(session, House) == 0  # row 2 was good, but nothing is half-imported


def test_a_failed_folder_import_rolls_back_the_files_before_it(engine, tmp_path):
    write_csv(tmp_path / "communities.csv", ["小区编码", "小区名称"], [["T2", "第二花园"]])
    write_csv(tmp_path / "buildings.csv", ["小区", "楼栋"], [["T2", "1"], ["T2", "东边那栋"]])
    with pytest.raises(ImportFailed) as failed:
        with db.session_scope(engine) as session:
            import_files(session, files_in(tmp_path))
    assert failed.value.reports[0].ok and failed.value.reports[1].errors[0].row == 3
    with db.session_scope(engine) as session:
        assert count(session, Community) == 0 and count(session, Building) == 0
    assert [k for k, _ in files_in(tmp_path)] == ["communities", "buildings"]


def test_reimport_updates_only_what_changed(session, tmp_path):
    estate(session, tmp_path)
    header = ["小区", "楼栋", "单元", "房号", "建筑面积"]
    rows = [["T1", "3", "1", f"{n}01", "89.50"] for n in range(1, 6)]
    assert import_file(session, "houses", write_csv(tmp_path / "h.csv", header, rows)).inserted == 5
    rows[2][4] = "91.25"
    report = import_file(session, "houses", write_csv(tmp_path / "h.csv", header, rows))
    assert (report.inserted, report.updated, report.unchanged) == (0, 1, 4)
    area = session.execute(select(House.floor_area).where(House.room == "301")).scalar_one()
    assert area == Decimal("91.25")


def test_missing_column_is_a_file_problem(session, tmp_path):
    estate(session, tmp_path)
    report = import_file(
        session, "houses", write_csv(tmp_path / "h.csv", ["小区", "楼栋", "房号"], [["T1", "3", "101"]])
    )
    assert report.errors[0].row == 1 and "表头缺少列：「建筑面积」" in report.errors[0].reason


def test_excel_and_gbk_csv(session, tmp_path):
    estate(session, tmp_path)
    book = Workbook()
    sheet = book.active
    sheet.append(["小区", "房屋", "建筑面积(m²)", "备注"])
    sheet.append(["测试花园", "3-2-501", 89.5, "随便写的备注"])  # numbers as Excel keeps them
    sheet.append(["T1", "A区5栋1单元902", 120, None])
    book.save(tmp_path / "houses.xlsx")
    report = import_file(session, "houses", tmp_path / "houses.xlsx")
    assert report.ok and report.inserted == 2, report.errors
    residents = write_csv(
        tmp_path / "r.csv",
        ["小区", "楼栋", "单元", "房号", "姓名", "手机号", "身份"],
        [
            ["T1", "3", "2", "501", "张伟", "138 0000 1001", "业主"],
            ["T1", "A5", "1", "902", "陈小明", "13800001006", "家属"],
        ],
        encoding="gbk",
    )
    report = import_file(session, "residents", residents)
    assert report.ok, report.errors
    phones = dict(session.execute(select(Resident.name, Resident.phone)).all())
    assert phones == {"张伟": "13800001001", "陈小明": "13800001006"}


def test_bad_phone_is_reported_masked(session, tmp_path):
    estate(session, tmp_path)
    import_file(session, "houses", write_csv(tmp_path / "h.csv", ["小区", "房屋", "面积"], [["T1", "3-2-501", "90"]]))
    report = import_file(
        session,
        "residents",
        write_csv(tmp_path / "r.csv", ["小区", "房屋", "姓名", "手机号"], [["T1", "3-2-501", "张伟", "1380000100"]]),
    )
    assert not report.ok and "不是11位手机号" in report.errors[0].reason
    assert "1380000100" not in report.errors[0].reason  # never the full number


def test_payments_must_match_a_bill_and_money_is_exact(session, tmp_path):
    estate(session, tmp_path)
    import_file(
        session, "houses", write_csv(tmp_path / "h.csv", ["小区", "房屋", "面积"], [["T1", "3-2-501", "89.50"]])
    )
    bills = write_csv(
        tmp_path / "bills.csv",
        ["小区", "房屋", "账期", "开始日期", "结束日期", "应收金额", "缴费截止日"],
        [
            ["T1", "3-2-501", "2026Q4", "2026-10-01", "2026/12/31", "751.80", "2026年10月31日"],
            ["T1", "3-2-501", "2026Q3", "2026-07-01", "2026-06-30", "751.80", "2026-07-31"],
        ],
    )
    report = import_file(session, "bills", bills)
    assert [e.row for e in report.errors] == [3] and "早于" in report.errors[0].reason
    write_csv(
        bills,
        ["小区", "房屋", "账期", "开始日期", "结束日期", "应收金额", "缴费截止日"],
        [["T1", "3-2-501", "2026Q4", "2026-10-01", "2026/12/31", "¥751.80", "2026年10月31日"]],
    )
    assert import_file(session, "bills", bills).ok
    payments = write_csv(
        tmp_path / "p.csv",
        ["小区", "收据号", "房屋", "账期", "实收金额", "缴费日期"],
        [
            ["T1", "R1", "3-2-501", "2026Q4", "0.10", "2026-10-02"],
            ["T1", "R2", "3-2-501", "2026Q4", "0.20", "2026-10-03"],
            ["T1", "R3", "3-2-501", "2025Q4", "1.00", "2026-10-03"],
        ],
    )
    report = import_file(session, "payments", payments)
    assert [e.row for e in report.errors] == [4] and "账单" in report.errors[0].reason
    assert count(session, FeePayment) == 0
    write_csv(
        payments,
        ["小区", "收据号", "房屋", "账期", "实收金额", "缴费日期"],
        [
            ["T1", "R1", "3-2-501", "2026Q4", "0.10", "2026-10-02"],
            ["T1", "R2", "3-2-501", "2026Q4", "751.70", "2026-10-03"],
        ],
    )
    assert import_file(session, "payments", payments).ok
    assert import_file(session, "payments", payments).unchanged == 2  # its own receipts are not counted twice
    write_csv(
        payments,
        ["小区", "收据号", "房屋", "账期", "实收金额", "缴费日期"],
        [["T1", "R3", "3-2-501", "2026Q4", "0.01", "2026-10-04"]],
    )
    report = import_file(session, "payments", payments)
    assert [e.row for e in report.errors] == [2] and "多收" in report.errors[0].reason
    # A corrected receipt later in the file makes room for a new one earlier in it.
    write_csv(
        payments,
        ["小区", "收据号", "房屋", "账期", "实收金额", "缴费日期"],
        [
            ["T1", "R3", "3-2-501", "2026Q4", "0.01", "2026-10-04"],
            ["T1", "R2", "3-2-501", "2026Q4", "751.69", "2026-10-03"],
        ],
    )
    report = import_file(session, "payments", payments)
    assert report.ok and (report.inserted, report.updated) == (1, 1), report.errors


def test_notice_scope_must_be_a_building_of_the_community(session, tmp_path):
    estate(session, tmp_path)
    path = write_csv(
        tmp_path / "n.csv",
        ["小区", "适用楼栋", "标题", "发布日期", "截止日期"],
        [
            ["T1", "", "消杀通知", "2026-11-20", ""],
            ["T1", "3栋", "电梯年检", "2026-11-18", "2026-11-30"],
            ["T1", "12栋", "外墙清洗", "2026-11-10", ""],
            ["T1", "", "旧通知", "2026-11-10", "2026-11-01"],
        ],
    )
    report = import_file(session, "notices", path)
    assert [e.row for e in report.errors] == [4, 5]
    assert count(session, Notice) == 0


def test_unknown_kind_and_file_type(session, tmp_path):
    with pytest.raises(ValueError):
        import_file(session, "cars", tmp_path / "x.csv")
    (tmp_path / "x.txt").write_text("a,b\n")
    report = import_file(session, "houses", tmp_path / "x.txt")
    assert report.errors[0].row == 0 and ".xlsx" in report.errors[0].reason


def test_cli_reports_bad_rows_and_exits_non_zero(databases, tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    url = databases.new()

    def cli(*args):
        return subprocess.run(
            [sys.executable, "-m", "backend", "--database-url", url, *args],
            cwd=root,
            capture_output=True,
            text=True,
            env={**__import__("os").environ, "PYTHONPATH": str(root)},
        )

    assert "natural key" in cli("import", "--help").stdout
    write_csv(tmp_path / "communities.csv", ["小区编码", "小区名称"], [["T3", "第三花园"], ["", "没有编码"]])
    result = cli("import", "communities", str(tmp_path / "communities.csv"))
    assert (
        result.returncode == 1
        and "第3行「小区编码」：缺少小区编码" in result.stderr
        and "没有任何改动" in result.stderr
    )
    write_csv(tmp_path / "communities.csv", ["小区编码", "小区名称"], [["T3", "第三花园"]])
    result = cli("import", "--dry-run", "communities", str(tmp_path / "communities.csv"))
    assert result.returncode == 0 and "没有写入" in result.stdout
    result = cli("import-dir", str(tmp_path))
    assert result.returncode == 0 and "新增1" in result.stdout
    assert "未变1" in cli("import-dir", str(tmp_path)).stdout
