"""Backups, restores and moving from SQLite to PostgreSQL, on real databases of both kinds."""

from __future__ import annotations

import gzip
import json
from datetime import timedelta

import pytest
from sqlalchemy import select

from backend.__main__ import main as cli
from backend.cli.demo import seed_demo
from backend.core import backup, db
from backend.core.clock import aware_now
from backend.core.models import House, InboundMessage, Resident, Ticket, TicketStep
from backend.messaging import delivery
from backend.text.addresses import Address
from backend.work.tickets import RepairRequest, add_step, create_repair


def populate(url: str) -> list[str]:
    """The demo company, three tickets with steps, messages in and out; returns ticket numbers."""
    now = aware_now()
    numbers = []
    with db.session_scope(db.get_engine(url)) as session:
        seed_demo(session, now=now)
        house = session.execute(select(House).order_by(House.id)).scalars().first()
        community_id = house.building.community_id
        for i, (text, urgency) in enumerate(
            (("厨房水管爆了", "urgent"), ("楼道灯不亮", "normal"), ("电梯异响", "normal"))
        ):
            ticket = create_repair(
                session,
                RepairRequest(
                    openid=f"o-owner-{i}",
                    description=text,
                    contact_phone="13800001001",
                    urgency=urgency,
                    address=Address("3", "2", "501"),
                    house_id=house.id,
                    community_id=community_id,
                    location_label="3栋2单元501",
                    source_key=f"backup-test-{i}",
                ),
                now=now - timedelta(hours=i),
            )
            add_step(
                session,
                ticket,
                "accepted",
                "staff:1",
                note="王师傅已接单",
                at=now - timedelta(hours=i) + timedelta(minutes=3),
            )
            add_step(
                session,
                ticket,
                "done",
                "staff:1",
                note="换了角阀，费用¥35.50",
                at=now - timedelta(hours=i) + timedelta(minutes=40),
            )
            numbers.append(ticket.number)
            session.add(
                InboundMessage(
                    dedupe_key=f"in-{i}",
                    openid=f"o-owner-{i}",
                    msg_type="text",
                    text=text,
                    status="answered",
                    received_at=now - timedelta(hours=i),
                    reply=json.dumps(["收到"], ensure_ascii=False),
                )
            )
            first = delivery.record(
                session,
                f"o-owner-{i}",
                "custom",
                f"{ticket.number} 已接单",
                purpose="progress",
                ticket_id=ticket.id,
                enqueue=False,
            )
            # A fallback refers to its own table: restore order must keep it valid.
            delivery.record(
                session,
                f"o-owner-{i}",
                "template",
                "已接单",
                purpose="progress",
                ticket_id=ticket.id,
                fallback_of=first.id,
                enqueue=False,
                template={"template_id": "T", "data": {"keyword1": {"value": ticket.number}}},
            )
    return numbers


def everything(url: str) -> dict[str, list[dict]]:
    engine = db.make_engine(url)
    try:
        with engine.connect() as conn:
            rows: dict[str, list[dict]] = {}
            for name, row in backup.read_rows(conn):
                rows.setdefault(name, []).append(row)
            return rows
    finally:
        engine.dispose()


@pytest.fixture
def source(db_url, engine):
    return db_url, populate(db_url)


def test_a_backup_restores_into_an_empty_database_with_every_ticket_and_step(source, databases, tmp_path):
    url, numbers = source
    path = tmp_path / "wuye.jsonl.gz"
    counts = backup.write_backup(url, path)
    assert counts["tickets"] == 3 and counts["ticket_steps"] >= 6 and counts["residents"] > 0
    target = databases.new()  # empty: not even a schema; restore migrates it first

    restored = backup.restore(target, path)
    assert restored == counts
    with db.session_scope(db.get_engine(target)) as session:
        for number in numbers:
            ticket = session.execute(select(Ticket).where(Ticket.number == number)).scalar_one()
            steps = (
                session.execute(select(TicketStep).where(TicketStep.ticket_id == ticket.id).order_by(TicketStep.id))
                .scalars()
                .all()
            )
            assert [s.kind for s in steps][-2:] == ["accepted", "done"]
            assert steps[-1].note == "换了角阀，费用¥35.50" and steps[-1].at.tzinfo is not None
        assert session.execute(select(Resident)).scalars().first().phone  # residents came along
        assert {h.floor_area for h in session.execute(select(House)).scalars()} != {None}
    # Every row of every table is the same, value for value (times, money, text).
    assert everything(target) == everything(url)
    # New records get new ids (PostgreSQL's sequences were moved past the copied ones).
    with db.session_scope(db.get_engine(target)) as session:
        fresh = delivery.record(session, "o-new", "custom", "新消息", enqueue=False)
        session.flush()
        assert fresh.id > max(r["id"] for r in everything(url)["outbound_messages"])


def test_restore_refuses_a_database_with_records_unless_forced(source, databases, tmp_path, capsys):
    url, _ = source
    path = tmp_path / "wuye.jsonl.gz"
    assert cli(["--database-url", url, "backup", str(path), "--no-progress"]) == 0
    target = databases.new()
    assert cli(["--database-url", target, "restore", str(path), "--no-progress"]) == 0
    with db.session_scope(db.get_engine(target)) as session:
        session.add(InboundMessage(dedupe_key="after-restore", openid="o-x", msg_type="text", text="你好"))

    capsys.readouterr()
    assert cli(["--database-url", target, "restore", str(path), "--no-progress"]) == 3
    assert "already holds records" in capsys.readouterr().err
    with db.session_scope(db.get_engine(target)) as session:  # untouched
        assert session.execute(select(InboundMessage).where(InboundMessage.dedupe_key == "after-restore")).scalar_one()

    assert cli(["--database-url", target, "restore", str(path), "--force", "--no-progress"]) == 0
    assert everything(target) == everything(url)  # replaced: the extra row is gone


def test_a_bad_or_damaged_file_gets_a_clear_error_and_writes_nothing(source, databases, tmp_path, capsys):
    url, _ = source
    target = databases.new()
    junk = tmp_path / "junk.gz"
    junk.write_bytes(b"this is not a backup at all")
    capsys.readouterr()
    assert cli(["--database-url", target, "restore", str(junk)]) == 2
    assert "is not a backup made by `python -m backend backup`" in capsys.readouterr().err

    other = tmp_path / "other.jsonl.gz"
    with gzip.open(other, "wt") as f:
        f.write(json.dumps({"hello": "world"}) + "\n")
    with pytest.raises(backup.BackupError, match="not a backup"):
        backup.restore(target, other)

    # A real backup cut short: the counts do not match, the transaction is rolled back.
    good = tmp_path / "good.jsonl.gz"
    backup.write_backup(url, good)
    with gzip.open(good, "rt") as f:
        lines = f.readlines()
    cut = tmp_path / "cut.jsonl.gz"
    with gzip.open(cut, "wt") as f:
        f.writelines(lines[:-5])
    with pytest.raises(backup.BackupError, match="row counts do not match"):
        backup.restore(target, cut)
    with db.make_engine(target).connect() as conn:
        assert all(n == 0 for n in backup.count_rows(conn).values())

    # A row of a table this schema does not have.
    odd = tmp_path / "odd.jsonl.gz"
    with gzip.open(odd, "wt") as f:
        f.write(lines[0])
        f.write(json.dumps({"t": "no_such_table", "r": {"id": 1}}) + "\n")
    with pytest.raises(backup.BackupError, match="line 2"):
        backup.restore(target, odd)
    assert cli(["--database-url", target, "restore", str(tmp_path / "missing.gz")]) == 2


@pytest.mark.postgres
def test_copy_db_moves_the_embedded_sqlite_into_postgresql(tmp_path, capsys):
    from tests.backend.conftest import PostgresDatabases

    source = f"sqlite:///{tmp_path / 'wuye.db'}"
    db.upgrade(source)
    numbers = populate(source)
    postgres = PostgresDatabases()
    try:
        target = postgres.new()
        capsys.readouterr()
        assert cli(["--database-url", source, "copy-db", "--to", target, "--no-progress"]) == 0
        out = capsys.readouterr().out
        assert "every table's row count matches" in out and "postgresql://" in out
        assert everything(target) == everything(source)  # every table, every row
        with db.session_scope(db.get_engine(target)) as session:
            found = session.execute(select(Ticket.number).order_by(Ticket.id)).scalars().all()
            assert found == numbers
            # The application goes on writing there: ids continue after the copied ones.
            ticket = session.execute(select(Ticket)).scalars().first()
            step = add_step(session, ticket, "note", "system", note="迁移后第一条")
            assert step.id > max(r["id"] for r in everything(source)["ticket_steps"])
        # Copying again into a database with records is refused.
        assert cli(["--database-url", source, "copy-db", "--to", target, "--no-progress"]) == 3
        # A target that does not exist: a clear error, and never the password.
        capsys.readouterr()
        missing = postgres.admin_url.set(database="wuye_no_such_db", password="s3cret-pw")
        assert (
            cli(
                [
                    "--database-url",
                    source,
                    "copy-db",
                    "--to",
                    missing.render_as_string(hide_password=False),
                    "--no-progress",
                ]
            )
            == 2
        )
        err = capsys.readouterr().err
        assert "wuye_no_such_db" in err and "s3cret-pw" not in err
    finally:
        postgres.drop_all()
