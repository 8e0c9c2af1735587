import pytest

from backend.text.urgency import Urgency, assess

URGENT = [
    ("厨房水管爆了", "水管爆了"),
    ("爆管了快来人", "爆管"),
    ("卫生间漏水不止", "漏水不止"),
    ("厨房一直在漏水", "一直在漏"),
    ("漏得止不住", "漏得止不住"),
    ("水龙头关不住了", "水龙头关不住"),
    ("家里水漫金山了", "水漫金山"),
    ("楼下被淹了", "被淹"),
    ("电梯困人了", "电梯困人"),
    ("我被困在电梯里了", "困在电梯里"),
    ("有人被关在电梯里", "被关在电梯里"),
    ("电梯停了，有人被困", "有人被困"),
    ("配电箱冒烟", "冒烟"),
    ("楼道着火了", "着火"),
    ("插座冒火花", "冒火花"),
    ("开关漏电", "漏电"),
    ("小孩触电了", "触电"),
    ("燃气泄漏", "燃气泄漏"),
    ("家里有煤气味", "煤气味"),
    ("闻到天然气味", "天然气味"),
    ("整栋楼停电了", "整栋楼停电"),
    ("整层都没电了", "整层都没电"),
    ("化粪池满了冒出来", "化粪池"),
    ("污水倒灌进屋", "污水倒灌"),
    ("下水道返水严重", "返水严重"),
    ("是不是漏电了，开关麻手", "漏电"),
    ("没有冒烟，但是闻到煤气味", "煤气味"),
]

NORMAL = [
    "灯不亮",
    "楼道灯不亮了",
    "马桶堵了",
    "门禁刷不开",
    "墙皮脱落",
    "厨房漏水",
    "天花板有点渗水",
    "门锁坏了进不了家",
    "空调滴水",
    "门关不住",
    "没有冒烟",
    "不是漏电，是跳闸",
    "电梯没困人，就是有异响",
    "现在不冒烟了",
    "燃气灶打不着火",
    "没有漏水了",
    "我很困",
    "",
]


@pytest.mark.parametrize("text,reason", URGENT, ids=[t for t, _ in URGENT])
def test_urgent(text, reason):
    assert assess(text) == Urgency("urgent", reason)


@pytest.mark.parametrize("text", NORMAL, ids=[t or "empty" for t in NORMAL])
def test_normal(text):
    result = assess(text)
    assert result.level == "normal" and result.reason is None


def test_case_counts():
    assert len(URGENT) + len(NORMAL) >= 20
    assert sum(1 for t in NORMAL if "没" in t or "不是" in t) >= 4


@pytest.mark.parametrize(
    "text,kind",
    [
        ("电梯困人了", "lift"),
        ("有人被困在电梯里了", "lift"),
        ("厨房燃气泄漏", "gas"),
        ("一股煤气味", "gas"),
        ("楼道冒烟了", "fire"),
        ("插座漏电", "electric"),
        ("有人触电了", "electric"),
        ("卫生间水管爆了", "water"),
        ("家里大量漏水 水都淹到门口了", "water"),
        ("没有冒烟", None),
        ("马桶堵了", None),
        ("楼道灯不亮", None),
    ],
)
def test_emergency_kinds(text, kind):
    from backend.text.urgency import SAFETY_ADVICE, emergency_kind

    assert emergency_kind(text) == kind
    if kind:
        assert SAFETY_ADVICE[kind]
