import pytest

from backend.text.addresses import PLACES, Address, find_place, is_shared_area, parse_address

# (text, building, unit, room); building None means "no address in this text".
ADDRESSES = [
    ("3栋2单元501", "3", "2", "501"),
    ("3-2-501", "3", "2", "501"),
    ("3－2－501", "3", "2", "501"),
    ("3—2—501", "3", "2", "501"),
    ("3–2–501", "3", "2", "501"),
    ("3/2/501", "3", "2", "501"),
    ("3 - 2 - 501", "3", "2", "501"),
    ("12-1102", "12", None, "1102"),
    ("12幢1102", "12", None, "1102"),
    ("12幢1单元1102", "12", "1", "1102"),
    ("8号楼702", "8", None, "702"),
    ("8号楼2单元702室", "8", "2", "702"),
    ("A区5栋903", "A5", None, "903"),
    ("a区5栋903", "A5", None, "903"),
    ("A5栋903", "A5", None, "903"),
    ("A5-2-501", "A5", "2", "501"),
    ("东区3栋2单元501", "东3", "2", "501"),
    ("B座1203", "B", None, "1203"),
    ("b座1203室", "B", None, "1203"),
    ("5号楼3门201", "5", "3", "201"),
    ("三栋二单元五零一", "3", "2", "501"),
    ("三号楼", "3", None, None),
    ("十二幢一一零二", "12", None, "1102"),
    ("二十号楼三单元一零二", "20", "3", "102"),
    ("３栋２单元５０１", "3", "2", "501"),
    ("３－２－５０１", "3", "2", "501"),
    ("3栋 2单元 501", "3", "2", "501"),
    ("3 栋 2 单元 501 室", "3", "2", "501"),
    ("3栋2单元501室", "3", "2", "501"),
    ("3栋2单元501号", "3", "2", "501"),
    ("第3栋2单元501室", "3", "2", "501"),
    ("3#楼2单元501", "3", "2", "501"),
    ("3楼2单元501", "3", "2", "501"),
    ("3栋2单元5楼501", "3", "2", "501"),
    ("3栋2单元", "3", "2", None),
    ("3栋", "3", None, None),
    ("3幢201", "3", None, "201"),
    ("我家3栋2单元501厨房漏水", "3", "2", "501"),
    ("你好，我是12幢1102的业主，卫生间马桶堵了", "12", None, "1102"),
    ("3号楼的电梯坏了", "3", None, None),
    ("我住8号楼，电话13812345678", "8", None, None),
    ("8号楼702，电话138 1234 5678，明天下午3点来", "8", None, "702"),
    ("3栋楼道灯不亮，我家在5栋2单元501", "5", "2", "501"),  # the full address wins
    ("我家101-2-301", "101", "2", "301"),
    # not addresses
    ("501室", None, None, None),
    ("13812345678", None, None, None),
    ("138-1234-5678", None, None, None),
    ("+86 138 1234 5678", None, None, None),
    ("0571-88886666", None, None, None),
    ("3月5号", None, None, None),
    ("3月5号下午来修", None, None, None),
    ("下午3点", None, None, None),
    ("3点半来", None, None, None),
    ("明天下午3点到5点", None, None, None),
    ("9:00-12:00", None, None, None),
    ("500元", None, None, None),
    ("交了1200元物业费", None, None, None),
    ("100-200元", None, None, None),
    ("300-500", None, None, None),
    ("BX261123001", None, None, None),
    ("我的工单BX261123001什么时候处理", None, None, None),
    ("2024-11-25", None, None, None),
    ("2026年11月23日", None, None, None),
    ("12/25/2026", None, None, None),
    ("11/25", None, None, None),
    ("1-2天", None, None, None),
    ("2楼漏水", None, None, None),
    ("5号来修", None, None, None),
    ("地铁3号线", None, None, None),
    ("A区", None, None, None),
    ("马桶堵了", None, None, None),
    ("", None, None, None),
]


@pytest.mark.parametrize("text,building,unit,room", ADDRESSES, ids=[c[0] or "empty" for c in ADDRESSES])
def test_parse_address(text, building, unit, room):
    expected = Address(building, unit, room) if building else None
    assert parse_address(text) == expected


def test_there_are_enough_cases():
    assert len(ADDRESSES) >= 40
    assert sum(1 for c in ADDRESSES if c[1] is None) >= 15


@pytest.mark.parametrize(
    "address,label",
    [
        (Address("3", "2", "501"), "3栋2单元501"),
        (Address("12", None, "1102"), "12栋1102"),
        (Address("A5", None, "903"), "A区5栋903"),
        (Address("8", None, "702"), "8栋702"),
        (Address("8"), "8栋"),
        (Address("B", None, "1203"), "B座1203"),
        (Address("东3", "1", "101"), "东区3栋1单元101"),
    ],
)
def test_label(address, label):
    assert address.label == label


def test_labels_of_parsed_spellings():
    assert parse_address("8号楼702").label == "8栋702"
    assert parse_address("a区5栋903").label == "A区5栋903"
    assert parse_address("3-2-501").label == "3栋2单元501"


@pytest.mark.parametrize(
    "text,place",
    [
        ("厨房漏水", "厨房"),
        ("厕所堵了", "卫生间"),
        ("洗手间的灯不亮", "卫生间"),
        ("卫生间", "卫生间"),
        ("阳台的窗户关不上", "阳台"),
        ("客厅", "客厅"),
        ("主卧空调滴水", "卧室"),
        ("楼道灯不亮", "楼道"),
        ("楼梯间好黑", "楼道"),
        ("电梯间", "电梯间"),
        ("电梯困人", "电梯"),
        ("地下车库B2的灯坏了", "地下车库B2"),
        ("地下车库b1", "地下车库B1"),
        ("车库负二层漏水", "地下车库B2"),
        ("地下二层车库", "地下车库B2"),
        ("地库", "地下车库"),
        ("小区东门道闸坏了", "东门"),
        ("南大门", "南门"),
        ("西门", "西门"),
        ("北门", "北门"),
        ("大堂", "大堂"),
        ("天台漏水", "楼顶"),
        ("楼顶", "楼顶"),
        ("花园里的路灯", "小区花园"),
        ("单元门口有垃圾", "单元门口"),
        ("停车场", "停车场"),
        ("垃圾站太臭了", "垃圾站"),
        ("我家卫生间和厨房都漏水", "卫生间"),
        ("３栋２单元５０１厨房", "厨房"),
        ("家里没电了", None),
        ("", None),
    ],
)
def test_find_place(text, place):
    assert find_place(text) == place


@pytest.mark.parametrize(
    "place,shared",
    [
        ("楼道", True),
        ("地下车库", True),
        ("地下车库B2", True),
        ("东门", True),
        ("大堂", True),
        ("楼顶", True),
        ("小区花园", True),
        ("电梯", True),
        ("垃圾站", True),
        ("厨房", False),
        ("卫生间", False),
        ("阳台", False),
        ("卧室", False),
        ("", False),
    ],
)
def test_is_shared_area(place, shared):
    assert is_shared_area(place) is shared


def test_every_place_found_under_its_own_name():
    for place in PLACES:
        assert find_place(place) == place


def test_quoting_a_fault_back_without_its_address():
    from backend.text.addresses import strip_address

    assert strip_address("3栋2单元501厨房水管爆了") == "厨房水管爆了"
    assert strip_address("3-2-501卫生间漏水") == "卫生间漏水"
    assert strip_address("8号楼702客厅的灯不亮了") == "客厅的灯不亮了"
    assert strip_address("厨房水龙头漏水") == "厨房水龙头漏水"
