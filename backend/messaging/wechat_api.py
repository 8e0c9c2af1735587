"""Outbound WeChat API on wechatpy, pointed at WECHAT_API_BASE_URL (the real API or a stand-in).

- wechatpy hard-codes the token URL, so the client overrides it as well as API_BASE_URL.
- The access token lives in Redis for every process (fetching a new one retires the old one, so
  processes must not each fetch their own). A Redis lock lets only one process refresh; the
  others wait for it and read the new token.
- A token error (40001/40014/42001) refreshes once and retries once. wechatpy's own auto-retry
  is off: it refreshes without the lock and retries without limit.
- Other failures are sorted by `classify` into what the delivery job should do about them.
"""

from __future__ import annotations

import logging

import requests
from wechatpy import WeChatClient
from wechatpy.exceptions import WeChatClientException

from backend.core.config import Settings
from backend.core.redis_conn import get_redis
from backend.messaging import wechat_quota

log = logging.getLogger(__name__)

TOKEN_ERRORS = frozenset({40001, 40014, 42001})
# -1 "system busy", 45009 "api freq out of limit": worth trying again later.
RETRY_LATER = frozenset({-1, 45009})
# The owner's customer-service window is closed (45015) or its message count used (45047): a
# template message may still reach them.
WINDOW_CLOSED = frozenset({45015, 45047})
NOT_FOLLOWING = 43004
# Refresh a little before WeChat's 7200 s are up, so no call goes out with a dying token.
TOKEN_MARGIN_SECONDS = 300


def cgi_base(base_url: str) -> str:
    base = base_url.rstrip("/")
    return base + "/" if base.endswith("/cgi-bin") else base + "/cgi-bin/"


def classify(exc: Exception) -> str:
    """What a failed call means for the message: retry | quota | window | unreachable | failed."""
    if isinstance(exc, wechat_quota.QuotaReached):
        return "quota"
    if isinstance(exc, requests.RequestException):
        return "retry"  # connection refused, timeout: WeChat (or the network) is having a moment
    if isinstance(exc, WeChatClientException):
        if exc.errcode is None:  # HTTP error status from wechatpy's raise_for_status
            status = getattr(exc.response, "status_code", None) or 0
            return "retry" if status >= 500 or status == 429 else "failed"
        if exc.errcode in RETRY_LATER or exc.errcode in TOKEN_ERRORS:
            return "retry"  # a token error after one refresh: the next attempt fetches again
        if exc.errcode in WINDOW_CLOSED:
            return "window"
        if exc.errcode == NOT_FOLLOWING:
            return "unreachable"
    return "failed"


def errcode_of(exc: Exception) -> int | None:
    if isinstance(exc, WeChatClientException):
        if exc.errcode is None:
            return getattr(exc.response, "status_code", None)
        return exc.errcode
    return None


class SharedToken:
    """The account's access token, shared through Redis, refreshed by one process at a time."""

    def __init__(self, client: WeChatAPI, redis_url: str):
        self.client = client
        self.redis = get_redis(redis_url)
        self.key = f"wuye:wechat:{client.appid}:access_token"

    def get(self) -> str:
        token = self.redis.get(self.key)
        return token.decode() if token else self.refresh(stale=None)

    def refresh(self, stale: str | None) -> str:
        """A new token, unless another process already replaced `stale` while we waited."""
        with self.redis.lock(self.key + ":lock", timeout=30, blocking_timeout=15):
            current = self.redis.get(self.key)
            if current and current.decode() != stale:
                return current.decode()
            result = self.client.fetch_token_from_wechat()
            token = result["access_token"]
            ttl = max(60, int(result.get("expires_in", 7200)) - TOKEN_MARGIN_SECONDS)
            self.redis.set(self.key, token, ex=ttl)
            log.info("access token refreshed", extra={"ttl": ttl})
            return token


class WeChatAPI(WeChatClient):
    def __init__(self, settings: Settings):
        self.API_BASE_URL = cgi_base(settings.wechat_api_base_url)
        super().__init__(settings.wechat_appid, settings.wechat_secret, timeout=5, auto_retry=False)
        self.tokens = SharedToken(self, settings.redis_url)
        self.redis_url = settings.redis_url

    @property
    def access_token(self) -> str:
        return self.tokens.get()

    def fetch_token_from_wechat(self) -> dict:
        """GET /cgi-bin/token. Raises WeChatClientException on an errcode (bad secret, IP)."""
        res = self._http.get(
            self.API_BASE_URL + "token",
            params={"grant_type": "client_credential", "appid": self.appid, "secret": self.secret},
            timeout=self.timeout,
        )
        res.raise_for_status()
        result = res.json()
        if result.get("errcode"):
            raise WeChatClientException(result["errcode"], result.get("errmsg"), client=self, response=res)
        return result

    def fetch_access_token(self):  # wechatpy's entry point; keep it on the shared path
        return {"access_token": self.tokens.refresh(stale=None)}

    def _request(self, method, url_or_endpoint, **kwargs):
        token = self.tokens.get()
        try:
            return super()._request(method, url_or_endpoint, **_with_token(kwargs, token))
        except WeChatClientException as exc:
            if exc.errcode not in TOKEN_ERRORS:
                raise
            log.info("token rejected, refreshing once", extra={"errcode": exc.errcode})
        token = self.tokens.refresh(stale=token)
        return super()._request(method, url_or_endpoint, **_with_token(kwargs, token))

    # --- what the product sends -------------------------------------------------------------------
    def send_custom_text(self, openid: str, text: str) -> dict:
        return self.message.send_text(openid, text)

    def send_template(self, openid: str, template_id: str, data: dict, url: str | None = None) -> dict:
        wechat_quota.take_template(self.redis_url, self.appid)
        return self.message.send_template(openid, template_id, data, url=url or None)


def _with_token(kwargs: dict, token: str) -> dict:
    """A fresh copy per attempt: wechatpy's _request rewrites its kwargs (body, processor)."""
    copy = dict(kwargs)
    copy["params"] = {**(kwargs.get("params") or {}), "access_token": token}
    return copy
