"""Outbound WeChat API on wechatpy, pointed at WECHAT_API_BASE_URL (the real API or a stand-in).

wechatpy hard-codes the token URL, so the client overrides it as well as API_BASE_URL. The
token is cached in Redis so every process shares one (fetching a new one retires the old).
"""
from __future__ import annotations

from wechatpy import WeChatClient
from wechatpy.session.redisstorage import RedisStorage

from backend.config import Settings
from backend.redis_conn import get_redis


def cgi_base(base_url: str) -> str:
    base = base_url.rstrip("/")
    return base + "/" if base.endswith("/cgi-bin") else base + "/cgi-bin/"


class WeChatAPI(WeChatClient):
    def __init__(self, settings: Settings):
        self.API_BASE_URL = cgi_base(settings.wechat_api_base_url)
        storage = RedisStorage(get_redis(settings.redis_url), prefix="wuye:wechat")
        super().__init__(settings.wechat_appid, settings.wechat_secret, session=storage, timeout=5)

    def fetch_access_token(self):
        return self._fetch_access_token(
            url=self.API_BASE_URL + "token",
            params={"grant_type": "client_credential", "appid": self.appid, "secret": self.secret},
        )
