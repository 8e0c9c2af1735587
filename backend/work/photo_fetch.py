"""Inspection photos sent from WeChat, downloaded and kept in the database like uploaded ones.

WeChat's PicUrl and MediaId expire (a received image's media id lasts 3 days), so after the photo
row is recorded a job on the worker (`fetch_inspection_photo`, enqueued after commit: the staff
member's reply never waits for it) downloads the image through the WeChat client
(GET /cgi-bin/media/get, the client's shared access token; the PicUrl when there is no media id),
checks it with photo_files (the same limits as an upload) and stores the bytes and thumbnail on the
same row.

- Network trouble, an HTTP 5xx or 429, WeChat's "busy" codes: tried again later with backoff, at
  most MAX_ATTEMPTS times in all; then the reason is recorded on the row (fetch_error).
- Any other WeChat errcode (40007 invalid media_id, …) or a body that is not a photo: recorded at
  once, never tried again.
- A row that already has its bytes (or its reason) is left alone: running the job twice stores
  once (the write itself is conditional, so two jobs at the same moment store once too).
- Nothing logged or recorded carries the access token: only the photo id, an errcode, a kind.
- A job lost before it first ran (Redis was down at commit) is made up for by `sweep`, every
  minute on the worker: photos never tried, recorded more than SWEEP_AFTER ago; and photos whose
  tries stopped half-way (a lost retry, a worker killed mid-download) once STUCK_AFTER has passed,
  still never more than MAX_ATTEMPTS tries in all.
- Without a media id the PicUrl is downloaded, only from WeChat's image hosts (or the configured
  API's host: the stand-in), never following redirects: the worker fetches no other address.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from urllib.parse import urlsplit

from sqlalchemy import select, update

from backend.core import jobs, schedule
from backend.core.clock import aware_now
from backend.core.config import Settings, load_settings
from backend.core.db import get_engine, session_scope
from backend.core.models import RenovationPhoto
from backend.work import photo_files

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 4
SWEEP_AFTER = timedelta(minutes=2)
STUCK_AFTER = timedelta(minutes=30)  # all the backoffs (12.5 min) and then some
PICTURE_HOSTS = ("qpic.cn", "qq.com", "weixin.qq.com", "wx.qlogo.cn")
BACKOFF = (30, 120, 600)  # seconds before the 2nd, 3rd, 4th try
_TABLE = RenovationPhoto.__table__


class _Retry(Exception):
    """Worth trying again later (network, 5xx, WeChat busy)."""


class _Refused(Exception):
    """Never worth trying again; the text is what the console shows."""


def wanted(photo: RenovationPhoto) -> bool:
    """A WeChat photo not yet kept: it has a media id or a web address to download from."""
    return not photo.stored and not photo.fetch_error and bool(photo.media_id or photo.url.startswith("http"))


def enqueue_after_commit(session, photos) -> None:
    """Fetch each WeChat photo of `photos` once the session commits (they must have ids)."""
    for photo in photos:
        if wanted(photo):
            jobs.enqueue_after_commit(session, schedule.FETCH_PHOTO, photo.id)


def fetch_inspection_photo(photo_id: int, settings: Settings | None = None, api=None) -> str:
    """Job: download one WeChat inspection photo and keep it. Returns stored | kept | failed |
    retry | missing (kept: it already was, nothing done)."""
    settings = settings or load_settings()
    engine = get_engine(settings.database_url)
    with engine.begin() as conn:
        row = conn.execute(
            select(
                _TABLE.c.url, _TABLE.c.media_id, _TABLE.c.content_type, _TABLE.c.fetch_attempts, _TABLE.c.fetch_error
            ).where(_TABLE.c.id == photo_id)
        ).first()
        if row is None:
            return "missing"
        if row.content_type is not None or row.fetch_error:
            return "kept" if row.content_type is not None else "failed"
        conn.execute(update(_TABLE).where(_TABLE.c.id == photo_id).values(fetch_attempts=_TABLE.c.fetch_attempts + 1))
    attempts = (row.fetch_attempts or 0) + 1
    try:
        data = _download(settings, row.media_id, row.url, api)
        try:
            photo = photo_files.read(data, "微信照片")
        except photo_files.PhotoRefused as exc:
            raise _Refused(str(exc)) from None  # the same words as for an upload
    except _Refused as exc:
        return _record_failure(engine, photo_id, str(exc), "refused")
    except _Retry as exc:
        if attempts >= MAX_ATTEMPTS:
            return _record_failure(engine, photo_id, f"多次下载失败（{exc}），未能保存", "gave up")
        delay = BACKOFF[min(attempts, len(BACKOFF)) - 1]
        log.info("inspection photo: download failed, trying again", extra={"photo_id": photo_id, "reason": str(exc)})
        jobs.enqueue_in(timedelta(seconds=delay), schedule.FETCH_PHOTO, photo_id)
        return "retry"
    with engine.begin() as conn:
        done = conn.execute(
            update(_TABLE)
            .where(_TABLE.c.id == photo_id, _TABLE.c.content_type.is_(None))
            .values(
                content_type=photo.content_type,
                size=len(photo.data),
                data=photo.data,
                thumb=photo.thumb,
                filename=f"微信照片{photo_id}{photo_files.SUFFIX.get(photo.content_type, '')}",
                fetch_error=None,
            )
        ).rowcount
    return "stored" if done else "kept"


def sweep(
    settings: Settings | None = None, older_than: timedelta = SWEEP_AFTER, stuck_after: timedelta = STUCK_AFTER
) -> int:
    """Fetch the WeChat photos whose job never ran (never tried, recorded a while ago) or whose
    tries stopped half-way (tried fewer than MAX_ATTEMPTS times, recorded long ago)."""
    settings = settings or load_settings()
    now = aware_now()
    t = _TABLE
    with get_engine(settings.database_url).connect() as conn:
        ids = (
            conn.execute(
                select(t.c.id)
                .where(
                    t.c.content_type.is_(None),
                    t.c.fetch_error.is_(None),
                    ((t.c.media_id.is_not(None)) & (t.c.media_id != "")) | t.c.url.like("http%"),
                    ((t.c.fetch_attempts == 0) & (t.c.created_at < now - older_than))
                    | ((t.c.fetch_attempts < MAX_ATTEMPTS) & (t.c.created_at < now - max(older_than, stuck_after))),
                )
                .order_by(t.c.id)
                .limit(50)
            )
            .scalars()
            .all()
        )
    for photo_id in ids:
        fetch_inspection_photo(photo_id, settings)
    return len(ids)


def _record_failure(engine, photo_id: int, reason: str, kind: str) -> str:
    log.warning("inspection photo not kept", extra={"photo_id": photo_id, "kind": kind, "reason": reason})
    with session_scope(engine) as session:
        photo = session.get(RenovationPhoto, photo_id)
        if photo is not None and not photo.stored:
            photo.fetch_error = reason[:200]
    return "failed"


def _download(settings: Settings, media_id: str | None, url: str, api) -> bytes:
    """The image's bytes: WeChat's temporary media by id, else the PicUrl. Raises _Retry or
    _Refused, whose texts carry no token (never an exception's own text: requests puts the URL,
    token included, in it)."""
    import requests  # loaded by the worker only when a photo is fetched

    if media_id and not settings.local_mode:
        from wechatpy.exceptions import WeChatClientException

        from backend.messaging.wechat_api import RETRY_LATER, TOKEN_ERRORS, WeChatAPI, errcode_of

        try:
            res = (api or WeChatAPI(settings)).media.download(media_id)
        except requests.RequestException as exc:
            raise _Retry(type(exc).__name__) from None
        except WeChatClientException as exc:
            code = errcode_of(exc)
            if exc.errcode is None:  # an HTTP error status
                if (code or 0) >= 500 or code == 429:
                    raise _Retry(f"HTTP {code}") from None
                raise _Refused(f"微信返回 HTTP {code}") from None
            if code in RETRY_LATER or code in TOKEN_ERRORS:
                raise _Retry(f"errcode={code}") from None
            raise _Refused(f"微信素材已无法下载（errcode={code}）") from None
        if isinstance(res, dict):  # JSON without an errcode: not an image
            raise _Refused("微信发来的不是照片")
        return _capped(res.content)
    if not picture_url_allowed(settings, url):
        raise _Refused("照片地址不是微信的，不下载")
    try:
        with requests.get(url, timeout=10, stream=True, allow_redirects=False) as res:
            if 300 <= res.status_code < 400:
                raise _Refused(f"照片地址返回 HTTP {res.status_code}（转到别处）")
            if res.status_code >= 500 or res.status_code == 429:
                raise _Retry(f"HTTP {res.status_code}")
            if res.status_code >= 400:
                raise _Refused(f"照片地址返回 HTTP {res.status_code}")
            data = b""
            for chunk in res.iter_content(64 * 1024):
                data += chunk
                if len(data) > photo_files.MAX_BYTES:
                    break
            return _capped(data)
    except requests.RequestException as exc:
        raise _Retry(type(exc).__name__) from None


def picture_url_allowed(settings: Settings, url: str) -> bool:
    """A PicUrl the worker may download: http(s) on one of WeChat's image hosts or on the
    configured API's host (the stand-in in tests)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    host = (parts.hostname or "").lower()
    if parts.scheme not in ("http", "https") or not host:
        return False
    if host == (urlsplit(settings.wechat_api_base_url).hostname or "").lower():
        return True
    return any(host == h or host.endswith("." + h) for h in PICTURE_HOSTS)


def _capped(data: bytes) -> bytes:
    # photo_files refuses anything over MAX_BYTES; no need to hold more than one byte past it.
    return data[: photo_files.MAX_BYTES + 1]
