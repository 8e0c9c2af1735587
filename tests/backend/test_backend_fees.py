"""Fee arithmetic: exact to the fen (Decimal, half up), owed by period, last payment, the
building's own standard before the community's, the latest 收支公示."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from backend.core.models import Building, Community, FeeBill, FeeDisclosure, FeePayment, FeeStandard, House
from backend.owners import fees
from backend.text.money import to_fen, yuan


@pytest.mark.parametrize(
    "price,area,monthly",
    [
        ("2.80", "89.50", "250.60"),
        ("1.95", "132.60", "258.57"),
        ("2.35", "88.37", "207.67"),  # 207.6695 rounds half up
        ("1.50", "100.01", "150.02"),  # 150.015 → 150.02, not banker's 150.02/150.01
        ("0.0125", "100.00", "1.25"),
        ("3.3333", "3.00", "10.00"),  # 9.9999
    ],
)
def test_monthly_fee_is_price_times_area_to_the_fen(price, area, monthly):
    standard = FeeStandard(unit_price=Decimal(price), per_area=True)
    assert fees.monthly_fee(standard, Decimal(area)) == Decimal(monthly)


def test_fixed_charge_and_unknown_area():
    assert fees.monthly_fee(FeeStandard(unit_price=Decimal("80"), per_area=False), None) == Decimal("80.00")
    assert fees.monthly_fee(FeeStandard(unit_price=Decimal("2.8"), per_area=True), None) is None


def test_money_never_takes_a_float_and_reads_in_yuan():
    with pytest.raises(TypeError):
        to_fen(0.1)
    assert yuan(Decimal("12345.6")) == "12,345.60元"
    assert to_fen(Decimal("0.005")) == Decimal("0.01")


@pytest.fixture
def home(session):
    community = Community(code="F1", name="费用花园", hotline="1")
    session.add(community)
    session.flush()
    building = Building(community_id=community.id, code="3", name="3栋")
    session.add(building)
    session.flush()
    house = House(building_id=building.id, unit="2", room="501", floor_area=Decimal("89.50"))
    session.add(house)
    session.flush()
    return community, building, house


def _bill(session, house, period, start, amount, due):
    bill = FeeBill(
        house_id=house.id,
        item="物业费",
        period=period,
        period_start=start,
        period_end=date(start.year, start.month + 2, 28),
        amount=Decimal(amount),
        due_date=due,
    )
    session.add(bill)
    session.flush()
    return bill


def test_summary_owed_by_period_with_partial_payments(session, home):
    community, building, house = home
    q3 = _bill(session, house, "2026年第3季度", date(2026, 7, 1), "751.80", date(2026, 7, 31))
    q4 = _bill(session, house, "2026年第4季度", date(2026, 10, 1), "751.80", date(2026, 10, 31))
    q2 = _bill(session, house, "2026年第2季度", date(2026, 4, 1), "751.80", date(2026, 4, 30))
    for receipt, bill, amount, day in (
        ("R1", q2, "751.80", date(2026, 4, 9)),
        ("R2", q3, "0.10", date(2026, 7, 2)),
        ("R3", q3, "0.20", date(2026, 8, 3)),
    ):
        session.add(
            FeePayment(
                community_id=community.id,
                receipt_no=receipt,
                bill_id=bill.id,
                amount=Decimal(amount),
                paid_on=day,
                method="微信支付",
            )
        )
    session.flush()
    result = fees.summary(session, house)
    assert [(o.period, o.owed) for o in result.owed] == [
        ("2026年第3季度", Decimal("751.50")),
        ("2026年第4季度", Decimal("751.80")),
    ]
    assert result.total_owed == Decimal("1503.30")  # exact: 0.1 + 0.2 paid, no float residue
    assert result.next_due == date(2026, 7, 31)
    assert result.owed[0].overdue(date(2026, 11, 23)) and not result.owed[1].overdue(date(2026, 10, 31))
    assert (result.last_payment.paid_on, result.last_payment.amount) == (date(2026, 8, 3), Decimal("0.20"))
    assert q4.id  # unpaid bill listed in full


def test_building_standard_beats_community_and_latest_disclosure(session, home):
    community, building, house = home
    session.add_all(
        [
            FeeStandard(
                community_id=community.id,
                item="物业费",
                building_code="",
                unit_price=Decimal("2.80"),
                per_area=True,
                pay_methods="现场",
                late_fee_rule="万分之三",
            ),
            FeeStandard(
                community_id=community.id,
                item="物业费",
                building_code="3",
                unit_price=Decimal("3.10"),
                per_area=True,
                pay_methods="现场",
                late_fee_rule="",
            ),
            FeeDisclosure(
                community_id=community.id, period="2025年度", title="旧", url="", published_on=date(2026, 1, 5)
            ),
            FeeDisclosure(
                community_id=community.id,
                period="2026年上半年",
                title="新",
                url="https://x",
                published_on=date(2026, 7, 20),
            ),
        ]
    )
    session.flush()
    result = fees.summary(session, house)
    assert result.standard.unit_price == Decimal("3.1000")
    assert result.monthly == Decimal("277.45")  # 3.10 × 89.50
    assert result.disclosure.title == "新"
    assert not result.has_bills and result.owed == [] and result.last_payment is None


# --- which item a question is about (fees.ask): the words owners type, against the home's items ---
DEMO_ITEMS = ["物业费", "车位管理费", "临时停车", "装修保证金", "水电代收"]


@pytest.mark.parametrize(
    "text, item",
    [
        ("停车费怎么交", "车位管理费"),
        ("车位管理费多少钱一个月", "车位管理费"),  # its own name, not 管理费 (物业费)
        ("装修押金退不退", "装修保证金"),
        ("水电费代收吗", "水电代收"),
        ("临时停车怎么收费", "临时停车"),
        ("查一下5栋201的物业费", "物业费"),
        ("车位费还欠多少", "车位管理费"),
        ("停车管理费多少", "车位管理费"),
        ("停车月卡多少钱", "车位管理费"),
        ("停车一小时多少钱", "临时停车"),
        ("临停收费", "临时停车"),
        ("访客车怎么收费", "临时停车"),
        ("物管费怎么交", "物业费"),
        ("管理费一个月多少", "物业费"),
        ("物业管理费多少一平", "物业费"),
        ("电费在哪交", "水电代收"),
        ("物业的车位费怎么交", "车位管理费"),  # 物业 alone names no fee
        ("物业费和车位费一共多少", "物业费"),  # the one named first
        ("车位费和物业费一共多少", "车位管理费"),
    ],
)
def test_the_item_asked_about_among_the_homes_items(text, item):
    assert fees.ask(DEMO_ITEMS, text) == fees.Asked(item)


def test_no_item_named_and_a_kind_of_fee_the_home_does_not_have():
    assert fees.ask(DEMO_ITEMS, "我还欠多少钱") == fees.Asked()
    assert fees.ask(DEMO_ITEMS, "燃气费怎么交") == fees.Asked(unlisted="燃气费")
    assert fees.ask(DEMO_ITEMS, "暖气费多少") == fees.Asked(unlisted="供暖费")
    # 临时停车 asked where only a monthly space is charged: said so, not the monthly price.
    assert fees.ask(["物业费", "车位管理费"], "停车一小时多少钱") == fees.Asked(unlisted="临时停车")


def test_the_companys_own_item_names_win():
    items = ["物业服务费", "车位租金", "车位管理费", "有线电视费"]
    assert fees.main_item(items) == "物业服务费"
    assert fees.ask(items, "物业费多少") == fees.Asked("物业服务费")  # 物业费 by its imported name
    assert fees.ask(items, "管理费多少") == fees.Asked("物业服务费")
    assert fees.ask(items, "车位租多少钱") == fees.Asked("车位租金")  # the closer of two 车位 items
    assert fees.ask(items, "车位管理费怎么交") == fees.Asked("车位管理费")
    assert fees.ask(items, "有线电视怎么交") == fees.Asked("有线电视费")  # an item of no kind, by name
    assert fees.ask(["物业费", "停车管理费"], "车位管理费多少") == fees.Asked("停车管理费")
    assert fees.ask([], "物业费多少") == fees.Asked()  # nothing imported: the 物业费 card says so
