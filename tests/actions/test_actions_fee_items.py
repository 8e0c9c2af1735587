"""Fee questions about every item a home has (车位费, 装修保证金, 水电代收, 临时停车), the one
asked about first; 物业费 when none is named, with the other items listed; 收支公示 for anyone."""

from __future__ import annotations

from actions.binding import BindHouse
from actions.fees import AnswerFee
from tests.actions.test_actions_owner_answers import Owner


def bound() -> Owner:
    owner = Owner()
    assert "绑定成功" in owner.say(BindHouse, "绑定 3栋2单元501 13800001001")
    return owner


def test_the_parking_fee_is_answered_from_its_own_standard_and_bill(demo_db):
    reply = bound().say(AnswerFee, "车位费还欠多少")
    lines = reply.splitlines()
    assert lines[0] == "幸福里花园 3栋2单元501 的车位管理费："
    assert "· 收费标准：80.00元/月，地下车位按季度收取" in lines
    assert "· 目前还欠 240.00元：" in lines and any("2026年第4季度 240.00元" in line for line in lines)
    assert "2.80元/m²/月" not in reply  # not the 物业费 card
    assert lines[-1].startswith("· 您家还有这些收费项目：物业费、临时停车、装修保证金、水电代收")


def test_deposit_temporary_parking_and_utilities_each_get_their_own_answer(demo_db):
    owner = bound()
    deposit = owner.say(AnswerFee, "装修押金要交多少")
    assert "的装修保证金：" in deposit and "2000.00元（一次性），装修完工验收合格后无息退还" in deposit
    parking = owner.say(AnswerFee, "临时停车怎么收费")
    assert "的临时停车：" in parking and "5.00元/小时，首小时免费，当日最高30元" in parking
    water = owner.say(AnswerFee, "水费在哪交")
    assert "的水电代收：" in water and "4.10元/吨" in water and "怎么缴：公众号菜单「生活缴费」在线缴" in water


def test_no_item_named_is_the_property_fee_with_the_other_items_listed(demo_db):
    reply = bound().say(AnswerFee, "我还欠多少钱")
    assert "的物业费：" in reply and "2.80元/m²/月" in reply
    assert "车位管理费 240.00元" in reply  # every unpaid bill is owed, whatever its item
    assert "· 您家还有这些收费项目：车位管理费、临时停车、装修保证金、水电代收" in reply


def test_the_disclosure_needs_no_binding(demo_db):
    reply = Owner().say(AnswerFee, "幸福里花园的收支公示在哪看")
    assert "幸福里花园最新的收支公示" in reply and "https://wuye.example.com/xfl/gongshi/2026h1" in reply
    assert "先绑定" not in reply
    reply = Owner().say(AnswerFee, "我还欠多少物业费")
    assert "先绑定" in reply  # a home's own bills still need the binding
