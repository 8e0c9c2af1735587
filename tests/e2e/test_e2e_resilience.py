"""Rasa down or slow: the owner hears from us in time, and the answer comes when it can."""

from __future__ import annotations

import os
import signal
import time

from tests.e2e.conftest import AES_KEY, APPID, TOKEN
from tests.e2e.wx import WeChat


def wait_for(predicate, timeout: float):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.5)
    return predicate()


def test_rasa_slow_reply_comes_as_customer_service_message(system, standin):
    wx = WeChat(system.base_url, TOKEN, AES_KEY, APPID, "compat")
    owner = "o-e2e-slow"
    wx.say(owner, "你好")  # warm the conversation
    rasa = system.procs["rasa"]
    os.killpg(rasa.pid, signal.SIGSTOP)  # Rasa hangs: accepts nothing, answers nothing
    try:
        reply, took = wx.say(owner, "物业电话多少")
    finally:
        time.sleep(1)
        os.killpg(rasa.pid, signal.SIGCONT)
    assert reply is None and took < 4.5  # `success` in time…
    texts = wait_for(lambda: standin.texts_to(owner), 60)
    assert texts and "0571" in texts[-1]  # …and the answer afterwards


def test_rasa_down_mid_conversation_holding_reply_then_answer(system, standin):
    wx = WeChat(system.base_url, TOKEN, AES_KEY, APPID, "aes")
    owner = "o-e2e-down"
    reply, _ = wx.say(owner, "我要报修")
    assert "什么东西坏了" in reply
    system.stop("rasa")  # Rasa goes away in the middle of the repair
    try:
        reply, took = wx.say(owner, "厨房水管漏水了")
        assert took < 4.5
        assert reply and "收到" in reply and "稍后" in reply
    finally:
        system.start("rasa")
        system.wait_rasa()
    # the kept message is answered once Rasa is back, where the conversation was
    texts = wait_for(lambda: standin.texts_to(owner), 90)
    assert texts and "楼栋" in texts[-1], system.logs()
    reply, _ = wx.say(owner, "幸福里花园3-2-501")
    assert "什么时候上门" in reply
