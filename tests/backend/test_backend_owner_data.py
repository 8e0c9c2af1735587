"""Binding on proof, several homes per account, and each community's own notices, contacts
and price list (the two demo communities share the address 3栋2单元501)."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from backend.cli.demo import seed_demo
from backend.core.models import BindingRequest, Community, Ticket, WechatBinding
from backend.owners import accounts as owners
from backend.owners import binding, contacts, notices, paid_services
from backend.text.addresses import Address, parse_address

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=timezone.utc)
A = Address("3", "2", "501")


@pytest.fixture
def demo(session):
    seed_demo(session)
    return {c.code: c for c in session.execute(select(Community)).scalars()}


def bindings(session, openid):
    return session.execute(select(WechatBinding).where(WechatBinding.openid == openid)).scalars().all()


def test_right_phone_binds_that_house(session, demo):
    outcome = binding.bind_with_phone(session, "o1", A, "13800001001", now=NOW)
    assert outcome.status == "bound" and outcome.resident.name == "张伟"
    house = owners.current_house(session, "o1")
    assert binding.label(house) == "幸福里花园 3栋2单元501"
    again = binding.bind_with_phone(session, "o1", A, "13800001001", now=NOW)
    assert again.status == "already" and len(bindings(session, "o1")) == 1


def test_wrong_phone_binds_nothing_and_leaves_a_request(session, demo):
    outcome = binding.bind_with_phone(session, "o2", A, "13900009999", "绑定3-2-501", now=NOW)
    assert outcome.status == "phone_not_listed"
    assert bindings(session, "o2") == []
    (request,) = session.execute(select(BindingRequest)).scalars().all()
    assert (request.openid, request.reason, request.status, request.phone) == (
        "o2",
        "phone_not_listed",
        "open",
        "13900009999",
    )
    assert request.house_id is None  # 3-2-501 exists in both communities: staff see the address
    assert request.address_text == "3栋2单元501"


def test_a_neighbours_phone_does_not_bind_this_house(session, demo):
    # 李娜 is the tenant of 3-2-502, not of 501.
    assert binding.bind_with_phone(session, "o3", A, "13800001002", now=NOW).status == "phone_not_listed"
    assert binding.bind_with_phone(session, "o3", Address("3", "2", "502"), "13800001002", now=NOW).status == "bound"


def test_no_such_house(session, demo):
    outcome = binding.bind_with_phone(session, "o4", Address("3", "2", "9901"), "13800001001", now=NOW)
    assert outcome.status == "no_such_house" and bindings(session, "o4") == []
    assert session.execute(select(BindingRequest.reason)).scalar_one() == "no_such_house"


def test_family_member_and_address_without_unit(session, demo):
    outcome = binding.bind_with_phone(session, "o5", parse_address("A区5栋902"), "13800001006", now=NOW)
    assert outcome.status == "bound" and outcome.resident.role == "family"
    assert outcome.house.unit == "1"


def test_the_phone_picks_the_community_and_switching_homes(session, demo):
    assert binding.bind_with_phone(session, "o6", A, "13800003001", now=NOW).status == "bound"
    assert owners.current_house(session, "o6").building.community.code == "YGC"
    assert binding.bind_with_phone(session, "o6", Address("12", None, "1102"), "13800001003", now=NOW).status == "bound"
    assert owners.current_house(session, "o6").room == "1102"
    assert binding.switch_to(session, "o6", Address("3", "2", "501")) is not None
    assert owners.current_house(session, "o6").building.community.code == "YGC"
    assert binding.switch_to(session, "o6", Address("8", None, "702")) is None  # not theirs
    current = [b for b in bindings(session, "o6") if b.is_current]
    assert len(current) == 1


def test_too_many_failed_tries_stop_checking(session, demo):
    for n in range(binding.MAX_FAILED_PER_DAY):
        assert binding.bind_with_phone(session, "o7", A, f"1390000{n:04d}", now=NOW).status == "phone_not_listed"
    assert binding.bind_with_phone(session, "o7", A, "13800001001", now=NOW).status == "too_many_tries"
    assert bindings(session, "o7") == []
    later = NOW + timedelta(days=1, minutes=1)
    assert binding.bind_with_phone(session, "o7", A, "13800001001", now=later).status == "bound"


def test_notices_are_the_communitys_and_buildings_newest_first(session, demo):
    xfl, ygc = demo["XFL"].id, demo["YGC"].id
    today = date(2026, 11, 23)
    page, more = notices.current(session, xfl, "3", today)
    assert [n.title for n in page] == ["11月25日小区消杀通知", "3栋电梯年检通知", "冬季供暖设备检修"] and more
    page2, more2 = notices.current(session, xfl, "3", today, offset=3)
    assert [n.title for n in page2] == ["垃圾分类宣传活动", "第四季度物业费缴费提醒"] and not more2
    eight, _ = notices.current(session, xfl, "8", today, limit=10)
    assert "8号楼外墙清洗" in [n.title for n in eight] and "3栋电梯年检通知" not in [n.title for n in eight]
    assert all(n.title != "中秋游园活动" for n in eight)  # expired
    theirs, _ = notices.current(session, ygc, "3", today, limit=10)
    assert [n.title for n in theirs] == ["地下车库照明改造通知", "消防演练通知"]
    before, _ = notices.current(session, ygc, None, date(2026, 11, 15), limit=10)
    assert [n.title for n in before] == ["消防演练通知"]  # not yet published


def test_contacts_and_price_list_are_per_community(session, demo):
    card = contacts.card(session, demo["XFL"], "3")
    assert card.steward.name == "林晓" and [o.role for o in card.others] == ["监控室"]
    assert contacts.card(session, demo["YGC"], "3").steward.name == "马可"
    assert contacts.card(session, demo["XFL"], "1").steward is None
    xfl = paid_services.price_list(session, demo["XFL"].id)
    ygc = paid_services.price_list(session, demo["YGC"].id)
    assert paid_services.price_label(paid_services.match(xfl, "开锁多少钱")) == "80.00元/次"
    assert paid_services.price_label(paid_services.match(ygc, "开锁多少钱")) == "60.00元/次"
    assert paid_services.match(xfl, "马桶堵了能帮忙通吗").item == "管道疏通"
    assert paid_services.match(xfl, "找个阿姨打扫卫生").item == "家政保洁"
    assert paid_services.price_label(paid_services.match(xfl, "搬家")) == "面议"
    assert paid_services.match(xfl, "今天天气") is None


def test_paid_service_request_is_one_fw_ticket_per_message(session, demo):
    binding.bind_with_phone(session, "o8", A, "13800001001", now=NOW)
    house = owners.current_house(session, "o8")
    service = paid_services.match(paid_services.price_list(session, demo["XFL"].id), "预约开锁")
    first = paid_services.request(session, "o8", house, service, "13800001001", "预约开锁", "o8:m1", NOW)
    again = paid_services.request(session, "o8", house, service, "13800001001", "预约开锁", "o8:m1", NOW)
    assert first.id == again.id and first.number.startswith("FW261123")
    assert (first.kind, first.community_id, first.location_label) == ("paid_service", demo["XFL"].id, "3栋2单元501")
    assert "80.00元/次" in first.description
    assert session.execute(select(func.count()).select_from(Ticket)).scalar_one() == 1
