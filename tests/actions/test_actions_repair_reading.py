"""How the repair form reads owners' sentences (no Rasa needed: these are plain functions)."""

import pytest

from actions.repair import RepairDraft, describes_a_fault


@pytest.mark.parametrize(
    "text",
    [
        "厨房水管漏水了",
        "hello 报俢 电梯坏了",
        "楼道灯不亮",
        "马桶堵了！！！",
        "门禁刷不开",
        "卫生间一直在滴水",
        "客厅插座没电了。",
        "电梯困人了快来",
        "空调外机异响",
        "墙皮脱落",
    ],
)
def test_says_what_is_wrong(text):
    assert describes_a_fault(text)


@pytest.mark.parametrize(
    "text",
    [
        "我要报修",
        "报修",
        "你好 我想报个修",
        "3栋2单元501",
        "明天下午三点以后",
        "13812345678",
        "在5号楼",
        "随时都可以",
        "hello",
    ],
)
def test_does_not_say_what_is_wrong(text):
    assert not describes_a_fault(text)


@pytest.mark.parametrize(
    "text,requested,old,expected",
    [
        ("1102", "repair_location", {"building": "12", "unit": None, "room": None}, ("12", None, "1102")),
        ("2单元1201", "repair_location", {"building": "5", "unit": None, "room": None}, ("5", "2", "1201")),
        ("不是501是502", "repair_confirmed", {"building": "3", "unit": "2", "room": "501"}, ("3", "2", "502")),
        ("房号改成502", "contact_phone", {"building": "3", "unit": "2", "room": "501"}, ("3", "2", "502")),
    ],
)
def test_completes_or_corrects_an_address(text, requested, old, expected):
    address = RepairDraft._complete_address(text, old, requested)
    assert (address.building, address.unit, address.room) == expected


def test_a_room_alone_does_not_invent_an_address():
    assert (
        RepairDraft._complete_address("明天上午", {"building": "3", "unit": None, "room": None}, "repair_time") is None
    )
