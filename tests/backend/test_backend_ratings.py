"""The rating parser: scores from the words owners really type, and the comment that is left."""

from __future__ import annotations

import pytest

from backend.text.ratings import parse_rating, says_not_fixed


@pytest.mark.parametrize(
    "text, score",
    [
        ("5", 5),
        ("4", 4),
        ("１", 1),
        ("五星", 5),
        ("四星", 4),
        ("3星", 3),
        ("两颗星", 2),
        ("一星", 1),
        ("打3分", 3),
        ("打分的话5分", 5),
        ("评分：3", 3),
        ("评分 4", 4),
        ("打个4", 4),
        ("我选5", 5),
        ("就3吧", 3),
        ("这次的服务我给2", 2),
        ("rate 4 ok", 4),
        ("5 stars thx", 5),
        ("★★★★", 4),
        ("★★★★★", 5),
        ("满分", 5),
        ("零分", 1),
        ("五星好评！师傅很专业", 5),
        ("很满意", 5),
        ("非常满意！！！", 5),
        ("十分满意 感谢", 5),
        ("满意", 4),
        ("挺满意的", 4),
        ("比较满意", 4),
        ("一般", 3),
        ("一般般", 3),
        ("中评", 3),
        ("还凑合吧", 3),
        ("不满意", 2),
        ("不太满意 来得太慢", 2),
        ("非常不满意", 1),
        ("很不满意", 1),
        ("差评", 1),
        ("差评！！！修完还漏", 1),
        ("极差 修完更严重了", 1),
        ("好评", 5),
        ("师傅人不错 好评", 5),  # the verdict word wins over the adjective before it
        ("一般般吧3分", 3),
        ("四星，来得有点晚", 4),
        ("四分 扣一分因为迟到", 4),
        ("10分钟就到了 好评", 5),
        ("给你们打2分 态度还行 就是没修好", 2),
        ("那个…评价的话…就四星吧。", 4),
    ],
)
def test_scores_from_many_phrasings(text, score):
    assert parse_rating(text).score == score


@pytest.mark.parametrize(
    "text, comment",
    [
        ("四星，来得有点晚", "来得有点晚"),
        ("五星好评！师傅很专业", "师傅很专业"),
        ("四分吧 态度挺好 就是慢了点", "态度挺好 就是慢了点"),
        ("给1星 修完第二天又坏了", "修完第二天又坏了"),
        ("很满意", ""),
        ("打3分", ""),
        ("一般般吧3分", "一般般"),
    ],
)
def test_the_rest_is_the_comment(text, comment):
    assert parse_rating(text).comment == comment


@pytest.mark.parametrize(
    "text",
    [
        "",
        "还没修好",
        "3栋2单元501",
        "厨房水管漏水了",
        "扣一分",
        "10分钟",
        "BX261123001",
        "/send_photo{}",
        "明天下午3点",
    ],
)
def test_no_score_is_no_rating(text):
    assert parse_rating(text) is None


@pytest.mark.parametrize(
    "text, not_fixed",
    [
        ("还没修好", True),
        ("没修好啊", True),
        ("还是漏水", True),
        ("又坏了", True),
        ("问题还在", True),
        ("没解决", True),
        ("修好了 谢谢", False),
        ("五星", False),
        ("很满意", False),
    ],
)
def test_not_fixed(text, not_fixed):
    assert says_not_fixed(text) is not_fixed


@pytest.mark.parametrize("text", ["88", "886", "88啦", "拜拜", "拜", "byebye", "再见啦"])
def test_slang_goodbyes_are_goodbyes(text):
    from backend.text.ratings import is_goodbye

    assert is_goodbye(text) and parse_rating(text) is None


@pytest.mark.parametrize("text", ["5", "8", "好的", "五星", "谢谢"])
def test_scores_and_words_are_not_goodbyes(text):
    from backend.text.ratings import is_goodbye

    assert not is_goodbye(text)


@pytest.mark.parametrize(
    "comment,praise",
    [
        ("来得很快", True),
        ("师傅很耐心 很专业", True),
        ("来得有点晚", False),
        ("态度不好", False),
        ("很快就又坏了", False),
        ("希望下次早点来", False),
    ],
)
def test_praise_is_told_from_criticism(comment, praise):
    from backend.text.ratings import is_praise

    assert is_praise(comment) is praise
