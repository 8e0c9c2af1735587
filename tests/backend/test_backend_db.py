import warnings
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, select, text

from backend.core import db
from backend.core.clock import SHANGHAI
from backend.core.models import Base, Building, Community, House, WechatUser

TABLES = {t.name for t in Base.metadata.sorted_tables}


def test_upgrade_created_every_table(engine):
    names = set(inspect(engine).get_table_names())
    assert TABLES <= names
    assert "alembic_version" in names
    with engine.connect() as conn:
        version = conn.execute(text("select version_num from alembic_version")).scalar_one()
    assert version == ScriptDirectory.from_config(db.alembic_config()).get_current_head()


def test_migration_matches_models(engine):
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # expression indexes cannot be reflected
            diffs = compare_metadata(context, Base.metadata)
    assert diffs == []


def test_constraint_names_follow_the_convention(engine):
    checks = {c["name"] for c in inspect(engine).get_check_constraints("communities")}
    assert checks == {"ck_communities_service_grade"}
    uniques = {c["name"] for c in inspect(engine).get_unique_constraints("tickets")}
    assert uniques == {"uq_tickets_number", "uq_tickets_source_key"}


def test_downgrade_to_base_and_up_again(databases, tmp_path, monkeypatch):
    url = databases.new()
    monkeypatch.chdir(tmp_path)  # upgrade() must not depend on the working directory
    db.upgrade(url)
    engine = db.make_engine(url)
    try:
        assert TABLES <= set(inspect(engine).get_table_names())
        db.downgrade(url, "base")
        left = set(inspect(engine).get_table_names()) - {"alembic_version"}
        assert left == set()
        db.upgrade(url)
        assert TABLES <= set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_house_unique_even_without_unit(session):
    community = Community(code="T", name="t", service_grade=1)
    building = Building(community=community, code="12", name="12栋")
    session.add_all([community, building, House(building=building, unit=None, room="1102")])
    session.commit()
    session.add(House(building=building, unit=None, room="1102"))
    with pytest.raises(Exception):
        session.flush()
    session.rollback()


def test_service_grade_is_checked(session):
    session.add(Community(code="BAD", name="bad", service_grade=4))
    with pytest.raises(Exception):
        session.flush()
    session.rollback()


def test_timestamps_come_back_aware_utc(session):
    beijing = datetime(2026, 11, 23, 9, 30, tzinfo=SHANGHAI)
    session.add(WechatUser(openid="o-tz", first_seen_at=beijing, last_inbound_at=beijing))
    session.commit()
    session.expunge_all()
    user = session.get(WechatUser, "o-tz")
    assert user.first_seen_at == beijing
    assert user.first_seen_at.tzinfo is not None
    assert user.first_seen_at.utcoffset() == timedelta(0)
    assert user.first_seen_at.hour == 1  # 09:30 in Beijing is 01:30 UTC


def test_timestamps_compare_in_queries(session):
    t0 = datetime(2026, 11, 23, 1, 0, tzinfo=timezone.utc)
    session.add_all([WechatUser(openid=f"o-{i}", first_seen_at=t0 + timedelta(hours=i)) for i in range(3)])
    session.commit()
    cutoff = datetime(2026, 11, 23, 10, 30, tzinfo=SHANGHAI)  # 02:30 UTC
    found = session.execute(select(WechatUser.openid).where(WechatUser.first_seen_at > cutoff)).scalars().all()
    assert found == ["o-2"]


def test_naive_datetime_is_refused(session):
    session.add(WechatUser(openid="o-naive", first_seen_at=datetime(2026, 11, 23, 9, 30)))
    with pytest.raises(Exception, match="naive"):
        session.flush()
    session.rollback()


def test_floor_area_is_decimal(session):
    community = Community(code="T", name="t", service_grade=1)
    building = Building(community=community, code="3", name="3栋")
    session.add_all([community, building, House(building=building, unit="2", room="501", floor_area=Decimal("89.5"))])
    session.commit()
    session.expunge_all()
    house = session.execute(select(House)).scalar_one()
    assert house.floor_area == Decimal("89.50")
    assert isinstance(house.floor_area, Decimal)
    assert house.label == "3栋2单元501"


def test_session_scope_commits_and_rolls_back(engine):
    with db.session_scope(engine) as s:
        s.add(WechatUser(openid="o-commit", first_seen_at=datetime.now(timezone.utc)))
    with pytest.raises(RuntimeError):
        with db.session_scope(engine) as s:
            s.add(WechatUser(openid="o-rollback", first_seen_at=datetime.now(timezone.utc)))
            s.flush()
            raise RuntimeError("boom")
    with db.session_scope(engine) as s:
        assert s.get(WechatUser, "o-commit") is not None
        assert s.get(WechatUser, "o-rollback") is None


def test_get_engine_is_cached(db_url):
    assert db.get_engine(db_url) is db.get_engine(db_url)


def test_get_engine_defaults_to_settings(monkeypatch, tmp_path):
    url = f"sqlite:///{tmp_path / 'default.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    assert str(db.get_engine().url) == url


def test_sqlite_runs_in_wal_with_busy_timeout(tmp_path):
    engine = db.make_engine(f"sqlite:///{tmp_path / 'wal.db'}")
    try:
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 5000
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    finally:
        engine.dispose()
