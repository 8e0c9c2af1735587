"""Fee questions about every item a home has (车位费, 装修保证金, 水电代收, 临时停车), the one
asked about first, as owners type them (synonyms, abbreviations); 物业费 when none is named, with
the other items listed; 收支公示 and published standards for anyone; another house's bills never."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from actions.binding import BindHouse
from actions.fees import AnswerFee
from backend.core import db
from backend.core.models import Community
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
    assert "的装修保证金：" in deposit and "3000.00元（一次性），装修完工验收合格后无息退还" in deposit
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


@pytest.mark.parametrize(
    "text, head, shows",
    [
        ("停车费怎么交", "的车位管理费：", "· 怎么缴：公众号菜单「生活缴费」在线缴、物业服务中心现场缴"),
        ("车位管理费多少钱一个月", "的车位管理费：", "80.00元/月"),
        ("车位费", "的车位管理费：", "80.00元/月"),
        ("停车管理费多少", "的车位管理费：", "80.00元/月"),
        ("装修押金退不退", "的装修保证金：", "装修完工验收合格后无息退还"),
        ("水电费代收吗", "的水电代收：", "代自来水公司按表收取水费；电费由供电公司直接收取"),
        ("临时停车怎么收费", "的临时停车：", "5.00元/小时，首小时免费"),
        ("物管费多少", "的物业费：", "2.80元/m²/月 × 89.50m²"),
        ("管理费怎么交", "的物业费：", "· 怎么缴：公众号菜单「生活缴费」在线缴"),
    ],
)
def test_fee_questions_as_owners_type_them(demo_db, text, head, shows):
    reply = bound().say(AnswerFee, text)
    assert reply.splitlines()[0] == f"幸福里花园 3栋2单元501 {head}" and shows in reply


def test_a_kind_of_fee_the_home_does_not_have_is_said_plainly(demo_db):
    reply = bound().say(AnswerFee, "燃气费怎么交")
    assert "没有登记「燃气费」这一项收费" in reply
    assert "3栋2单元501 的收费项目有：物业费、车位管理费、临时停车、装修保证金、水电代收" in reply
    assert "0571-8888 6666" in reply and "2.80元/m²/月" not in reply


def test_another_house_in_the_question_is_never_shown(demo_db):
    owner = bound()  # 3栋2单元501
    # 3栋1单元201 has bills (751.80 a quarter); 5栋201 may not exist: the same answer either way.
    for asked in ("查一下3栋1单元201的物业费", "查一下5栋201的物业费"):
        reply = owner.say(AnswerFee, asked)
        where = asked[3:-4]
        assert f"{where} 不是您绑定的房屋" in reply and "只能查您自己绑定的房屋的账单" in reply
        assert not re.search(r"\d元|\d\.\d\d", reply) and "的物业费：" not in reply  # no sum at all
        assert "您现在绑定的是 幸福里花园 3栋2单元501" in reply
    own = owner.say(AnswerFee, "查一下3栋2单元501的物业费")
    assert own.startswith("幸福里花园 3栋2单元501 的物业费：") and "751.80元" in own
    # The same address in the other community is someone else's.
    assert "不是您绑定的房屋" in owner.say(AnswerFee, "阳光城3栋2单元501的物业费还欠多少")


def test_a_second_home_of_the_owner_is_answered_when_named(demo_db):
    owner = bound()
    assert "绑定成功" in owner.say(BindHouse, "绑定 12栋1102 13800001003")  # now the current home
    reply = owner.say(AnswerFee, "3栋2单元501的车位费还欠多少")
    assert reply.startswith("幸福里花园 3栋2单元501 的车位管理费：") and "240.00元" in reply
    assert owner.say(AnswerFee, "物业费还欠多少").startswith("幸福里花园 12栋1102 的物业费：")


def test_an_unbound_owner_is_told_how_to_bind_and_may_read_the_published_standard(demo_db):
    reply = Owner().say(AnswerFee, "查一下3栋1单元201的物业费")
    assert "想查 3栋1单元201 的账单，要先绑定这套房屋" in reply and "绑定 3栋2单元501 13812345678" in reply
    assert "751.80" not in reply
    # What a community publishes is no secret: its standard, and how to see one's own bill.
    reply = Owner().say(AnswerFee, "幸福里花园临时停车怎么收费")
    assert reply.startswith("幸福里花园的临时停车收费标准：5.00元/小时，首小时免费") and "先绑定房屋" in reply
    reply = Owner().say(AnswerFee, "幸福里花园物业费多少钱一平")
    assert "幸福里花园的物业费收费标准：2.80元/m²/月" in reply
    reply = Owner().say(AnswerFee, "幸福里花园的车位费还欠多少")  # the home's own account: binding first
    assert "要先绑定" in reply and "80.00元" not in reply


def test_a_community_that_calls_it_物业服务费(demo_db):
    from sqlalchemy import update

    from backend.core.models import Building, FeeBill, FeeStandard, House

    with db.session_scope(demo_db) as session:
        ygc = session.execute(select(Community).where(Community.code == "YGC")).scalar_one()
        session.execute(
            update(FeeStandard)
            .where(FeeStandard.community_id == ygc.id, FeeStandard.item == "物业费")
            .values(item="物业服务费")
        )
        houses = select(House.id).join(Building).where(Building.community_id == ygc.id)
        session.execute(
            update(FeeBill)
            .where(FeeBill.house_id.in_(houses), FeeBill.item == "物业费")
            .values(item="物业服务费")
            .execution_options(synchronize_session=False)
        )
    owner = Owner()
    assert "绑定成功" in owner.say(BindHouse, "绑定 阳光城3栋2单元501 13800003001")
    for asked in ("物业费多少钱一平", "管理费还欠多少", "我还欠多少钱"):
        reply = owner.say(AnswerFee, asked)
        assert reply.startswith("阳光城 3栋2单元501 的物业服务费：") and "1.95元/m²/月" in reply
