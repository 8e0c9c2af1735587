"""Passive text reply rendering and splitting long answers."""

import pytest

from webhook.wechat import parse_message, render_text_reply, split_text


def test_reply_survives_cdata_terminator():
    content = "a]]>b ]]]]> <![CDATA[ & <xml> 结束]]>"
    xml = render_text_reply("oUSER", "gh_acc", content, create_time=123)
    msg = parse_message(xml.encode())
    assert msg.content == content
    assert (msg.to_user, msg.from_user, msg.create_time, msg.msg_type) == ("oUSER", "gh_acc", 123, "text")


def test_reply_drops_characters_xml_cannot_carry():
    msg = parse_message(render_text_reply("o", "gh", "a\x00b\x1fc\ud800d\n", create_time=1).encode())
    assert msg.content == "abcd\n"


def test_reply_default_time():
    assert parse_message(render_text_reply("o", "gh", "x").encode()).create_time > 1_700_000_000


def test_split_5000_chinese_characters():
    text = "".join(chr(0x4E00 + i % 500) for i in range(5000))  # no punctuation at all
    parts = split_text(text)
    assert "".join(parts) == text
    assert all(len(p.encode()) <= 2048 for p in parts)
    assert len(parts) == 8 and len(parts[0].encode()) == 2046  # 682 whole 3-byte characters


def test_split_prefers_sentence_end():
    sentence = "物业通知停水。" * 80 + "没有标点的长句子" * 60  # ~1.7 KB of sentences, then none
    parts = split_text(sentence)
    assert "".join(parts) == sentence
    assert parts[0].endswith("。") and all(len(p.encode()) <= 2048 for p in parts)


def test_split_prefers_newline_and_ascii():
    text = "x" * 1800 + "\n" + "y" * 400
    assert split_text(text)[0] == "x" * 1800 + "\n"
    text = "z" * 1700 + "?" + "w" * 600
    assert split_text(text)[0] == "z" * 1700 + "?"


def test_split_ignores_break_too_early():
    text = "早。" + "长" * 2000  # the only break is in the first 30%, not the last
    parts = split_text(text)
    assert len(parts[0].encode()) > 2000 and "".join(parts) == text


def test_split_never_cuts_a_character():
    text = "😀a中" * 1000
    for limit in (4, 5, 7, 100, 2048):
        parts = split_text(text, limit)
        assert "".join(parts) == text and all(0 < len(p.encode()) <= limit for p in parts)


def test_split_short_and_empty():
    assert split_text("你好") == ["你好"]
    assert split_text("") == []
    with pytest.raises(ValueError):
        split_text("x", 3)
