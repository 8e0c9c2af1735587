"""How the complaint form reads owners' sentences (no Rasa needed: these are plain functions)."""

import pytest

from actions.complaint import _where, says_what
from backend.text.flow_words import cancels


@pytest.mark.parametrize(
    "text",
    [
        "楼上装修太吵了",
        "保安态度太差了",
        "我的车位被人占了",
        "垃圾好几天没清了",
        "投诉 晚上广场舞音响太吵",
        "有人在楼道里抽烟",
    ],
)
def test_says_what_happened(text):
    assert says_what(text)


@pytest.mark.parametrize("text", ["我要投诉", "投诉！！！", "我想反映个问题", "你好 我要投诉一下物业", "在吗"])
def test_does_not_say_what_happened(text):
    assert not says_what(text)


@pytest.mark.parametrize(
    "text, where",
    [
        ("3栋2单元", "3栋2单元"),
        ("3-2-501", "3栋2单元501"),
        ("东门", "东门"),
        ("地下车库那边", "地下车库"),
    ],
)
def test_reads_where(text, where):
    assert _where(text) == where


def test_nothing_said_about_where():
    assert _where("吵得孩子睡不着") is None


@pytest.mark.parametrize(
    "text, stops",
    [
        ("算了", True),
        ("不投诉了", True),
        ("取消", True),
        ("那个投诉不要了", True),
        ("不办了", True),
        ("楼上太吵了", False),
        ("我家楼上", False),
        ("你们到底还修不修了", False),
        ("停车场取消了我的月卡", False),
    ],
)
def test_cancel_words(text, stops):
    assert cancels(text) is stops
