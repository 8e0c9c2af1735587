"""The outbound WeChat client against the stand-in: one shared token, refresh once on a token
error, and what each failure means for the message."""

from __future__ import annotations

import multiprocessing
import os

import pytest
import requests
from wechatpy.exceptions import WeChatClientException

from backend.core.config import load_settings
from backend.messaging.wechat_api import WeChatAPI, classify


def _send_from_another_process(env: dict, openid: str, count: int, start, results) -> None:
    os.environ.update(env)
    api = WeChatAPI(load_settings())
    start.wait(10)  # every process begins with an empty token cache at the same moment
    for n in range(count):
        api.send_custom_text(openid, f"第{n}条")
    results.put(openid)


def test_processes_share_one_token(wechat_env, standin):
    keys = ("DATABASE_URL", "REDIS_URL", "WECHAT_APPID", "WECHAT_SECRET", "WECHAT_API_BASE_URL")
    env = {k: os.environ[k] for k in keys}
    ctx = multiprocessing.get_context("spawn")
    start, results = ctx.Event(), ctx.Queue()
    procs = [ctx.Process(target=_send_from_another_process, args=(env, f"o-{i}", 5, start, results)) for i in range(3)]
    for p in procs:
        p.start()
    start.set()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    assert sorted(results.get(timeout=5) for _ in procs) == ["o-0", "o-1", "o-2"]
    assert standin.tokens_issued == 1
    assert len(standin.messages) == 15


def test_a_rejected_token_is_refreshed_once_and_the_call_retried(wechat_env, standin):
    api = WeChatAPI(wechat_env)
    api.send_custom_text("o-owner", "先来一条")
    standin.expire_tokens()  # e.g. someone fetched a token with the same appid elsewhere
    api.send_custom_text("o-owner", "令牌失效后这一条")
    assert standin.tokens_issued == 2
    assert standin.texts_to("o-owner") == ["先来一条", "令牌失效后这一条"]


@pytest.mark.parametrize("errcode", [40001, 40014, 42001])
def test_each_token_error_refreshes(wechat_env, standin, errcode):
    api = WeChatAPI(wechat_env)
    standin.failures = [errcode]
    api.send_custom_text("o-owner", "你好")
    assert standin.tokens_issued == 2
    assert standin.texts_to("o-owner") == ["你好"]


def test_refresh_happens_only_once_per_call(wechat_env, standin):
    api = WeChatAPI(wechat_env)
    standin.failures = [40001, 40001]
    with pytest.raises(WeChatClientException) as err:
        api.send_custom_text("o-owner", "你好")
    assert err.value.errcode == 40001
    assert standin.tokens_issued == 2  # the first fetch and one refresh, no loop
    assert standin.messages == []


def test_a_token_refreshed_by_another_process_is_used_not_fetched_again(wechat_env, standin):
    mine, theirs = WeChatAPI(wechat_env), WeChatAPI(wechat_env)
    stale = mine.tokens.get()
    fresh = theirs.tokens.refresh(stale=stale)  # the other process refreshed first
    assert mine.tokens.refresh(stale=stale) == fresh
    assert standin.tokens_issued == 2


def test_template_message_carries_the_keyword_fields(wechat_env, standin):
    data = {"keyword1": {"value": "BX261123001"}, "keyword2": {"value": "3栋2单元501"}}
    WeChatAPI(wechat_env).send_template("o-tech", "TASK_TEMPLATE", data, url="https://console.example/tickets/1")
    [message] = standin.to("o-tech", "template")
    assert message["body"]["template_id"] == "TASK_TEMPLATE"
    assert message["body"]["data"] == data
    assert message["body"]["url"] == "https://console.example/tickets/1"


def _failure(standin, api, errcode=None, status=None):
    if errcode:
        standin.failures = [errcode]
    if status:
        standin.http_failures = [status]
    with pytest.raises(Exception) as err:
        api.send_custom_text("o-owner", "x")
    return err.value


@pytest.mark.parametrize(
    "errcode, kind",
    [
        (45009, "retry"),
        (-1, "retry"),
        (45015, "window"),
        (45047, "window"),
        (43004, "unreachable"),
        (40003, "failed"),
    ],
)
def test_what_each_errcode_means(wechat_env, standin, errcode, kind):
    assert classify(_failure(standin, WeChatAPI(wechat_env), errcode=errcode)) == kind


def test_http_5xx_is_retried_and_4xx_is_not(wechat_env, standin):
    api = WeChatAPI(wechat_env)
    assert classify(_failure(standin, api, status=503)) == "retry"
    assert classify(_failure(standin, api, status=404)) == "failed"


def test_unreachable_wechat_is_retried(wechat_env):
    api = WeChatAPI(wechat_env)
    with pytest.raises(requests.RequestException) as err:
        api._http.get("http://127.0.0.1:9/", timeout=1)
    assert classify(err.value) == "retry"
