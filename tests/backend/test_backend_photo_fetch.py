"""Inspection photos sent from WeChat are downloaded by a job on the worker (through the WeChat
client, against the stand-in) and kept in the database with a thumbnail, like uploaded ones: a
WeChat errcode is recorded and not retried, a body that is not a photo is refused, network and 5xx
trouble is tried again a few times then recorded, and a second run stores nothing twice.
Real Redis and the RQ worker; SQLite and PostgreSQL."""

from __future__ import annotations

import io
import logging
from datetime import timedelta

from PIL import Image
from rq.registry import ScheduledJobRegistry
from sqlalchemy import select, update

from backend.core import jobs, schedule
from backend.core.clock import SHANGHAI, aware_now
from backend.core.models import RenovationApplication, RenovationPhoto
from backend.work import photo_fetch, renovation, staff_desk
from backend.work.renovation import ApplicationRequest
from tests.backend.queued_jobs import run_queued_jobs
from tests.backend.test_backend_renovation import OWNER, rules  # noqa: F401 (rules: a fixture)


def jpeg(width=1600, height=1200) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), "gray").save(out, "JPEG", quality=85)
    return out.getvalue()


def _approved(session, crew):
    """The house's decoration job, approved (made once per test)."""
    found = session.execute(select(RenovationApplication)).scalars().first()
    if found is not None:
        return found
    today = aware_now().astimezone(SHANGHAI).date()
    app = renovation.apply(
        session,
        ApplicationRequest(
            openid=OWNER,
            house_id=crew.house.id,
            work="卫生间翻新",
            contractor="安居装饰",
            contractor_phone="13900001111",
            starts_on=today + timedelta(days=1),
            ends_on=today + timedelta(days=30),
            workers=2,
        ),
    )
    renovation.approve(session, app, "console:zheng")
    session.commit()
    return app


def _photo(session, crew, url="https://mmbiz.qpic.cn/mmbiz_jpg/x/0", media_id="MEDIA-1") -> int:
    app = _approved(session, crew)
    inspection = renovation.record_inspection(
        session, app, "staff:1", "现场正常", person=crew.supervisor, photos=[(url, media_id)]
    )
    session.commit()
    photo_id = inspection.photos[0].id
    session.commit()  # SQLite: no transaction left open while the job writes
    return photo_id


def _row(session, photo_id) -> RenovationPhoto:
    session.expire_all()
    row = session.get(RenovationPhoto, photo_id)
    row.data, row.thumb  # noqa: B018 (deferred columns, loaded now)
    session.commit()
    return row


def _no_token_logged(caplog) -> bool:
    """Nothing we log (message or extra fields) carries the access token. The stand-in's own
    access log (werkzeug), which plays WeChat's side, is not ours."""
    ours = [r for r in caplog.records if r.name != "werkzeug"]
    assert any(r.name == "backend.work.photo_fetch" for r in ours)
    return not any("standin-token" in str(vars(r)) for r in ours)


def _queued(settings) -> list[tuple]:
    return [(j.func_name, j.args) for j in jobs.queue(jobs.QUEUE).get_jobs()]


def test_a_wechat_inspection_photo_is_downloaded_and_kept_with_a_thumbnail(session, rules, crew, wechat_env, standin):
    app = _approved(session, crew)
    picture = jpeg()
    standin.media["MEDIA-7"] = picture
    inspector = crew.supervisor.openid
    staff_desk.answer(session, inspector, f"巡查 {app.number} 违规 卫生间防水没做就铺砖")
    session.commit()
    reply = staff_desk.answer(
        session, inspector, '/send_photo{"photo_url": "https://mmbiz.qpic.cn/mmbiz_jpg/a/0", "media_id": "MEDIA-7"}'
    )[0]
    assert app.number in reply  # the reply does not wait for the download
    assert standin.media_calls == 0
    session.commit()
    photo_id = app.inspections[-1].photos[0].id
    session.commit()  # SQLite: no transaction left open while the job writes
    assert (schedule.FETCH_PHOTO, (photo_id,)) in _queued(wechat_env)  # enqueued after commit

    run_queued_jobs(wechat_env)
    row = _row(session, photo_id)
    assert row.stored and row.content_type == "image/jpeg" and row.data == picture and row.size == len(picture)
    with Image.open(io.BytesIO(row.thumb)) as thumb:
        assert thumb.format == "JPEG" and max(thumb.size) == 360
    assert row.fetch_error is None and row.fetch_attempts == 1
    assert row.url == "https://mmbiz.qpic.cn/mmbiz_jpg/a/0" and row.media_id == "MEDIA-7"  # still there
    assert standin.media_calls == 1


def test_the_job_run_twice_stores_once(session, rules, crew, wechat_env, standin):
    standin.media["MEDIA-1"] = jpeg()
    photo_id = _photo(session, crew)
    assert photo_fetch.fetch_inspection_photo(photo_id) == "stored"
    first = _row(session, photo_id).data
    standin.media["MEDIA-1"] = jpeg(800, 600)  # were it fetched again, this is what would be kept
    assert photo_fetch.fetch_inspection_photo(photo_id) == "kept"
    assert _row(session, photo_id).data == first and standin.media_calls == 1
    assert photo_fetch.fetch_inspection_photo(10**9) == "missing"


def test_a_wechat_errcode_is_recorded_and_not_retried(session, rules, crew, wechat_env, standin, caplog):
    photo_id = _photo(session, crew, media_id="EXPIRED")  # the stand-in answers 40007
    caplog.set_level(logging.INFO)
    assert photo_fetch.fetch_inspection_photo(photo_id) == "failed"
    row = _row(session, photo_id)
    assert "40007" in row.fetch_error and not row.stored and row.fetch_attempts == 1
    assert not ScheduledJobRegistry(queue=jobs.queue(jobs.QUEUE)).get_job_ids()  # nothing later
    run_queued_jobs(wechat_env)  # the job enqueued at commit: it finds the reason and stops
    assert photo_fetch.fetch_inspection_photo(photo_id) == "failed"
    assert standin.media_calls == 1 and _row(session, photo_id).fetch_attempts == 1
    assert _no_token_logged(caplog)


def test_a_body_that_is_not_a_photo_is_refused(session, rules, crew, wechat_env, standin):
    standin.media["MEDIA-1"] = b"<html><script>alert(1)</script></html>"
    photo_id = _photo(session, crew)
    assert photo_fetch.fetch_inspection_photo(photo_id) == "failed"
    row = _row(session, photo_id)
    assert not row.stored and row.data is None and row.thumb is None and "不是能打开的照片" in row.fetch_error


def test_5xx_is_tried_again_later_a_few_times_then_recorded(session, rules, crew, wechat_env, standin, caplog):
    caplog.set_level(logging.INFO)
    standin.media["MEDIA-1"] = jpeg()
    standin.media_http_failures = [502]
    photo_id = _photo(session, crew)
    assert photo_fetch.fetch_inspection_photo(photo_id) == "retry"
    scheduled = ScheduledJobRegistry(queue=jobs.queue(jobs.QUEUE)).get_job_ids()
    assert len(scheduled) == 1 and not _row(session, photo_id).fetch_error
    assert photo_fetch.fetch_inspection_photo(photo_id) == "stored"  # the later try

    standin.media_http_failures = [503] * 10
    other = _photo(session, crew)
    results = [photo_fetch.fetch_inspection_photo(other) for _ in range(photo_fetch.MAX_ATTEMPTS + 2)]
    assert results == ["retry"] * (photo_fetch.MAX_ATTEMPTS - 1) + ["failed", "failed", "failed"]
    row = _row(session, other)
    assert not row.stored and "HTTP 503" in row.fetch_error and row.fetch_attempts == photo_fetch.MAX_ATTEMPTS
    assert standin.media_calls == 2 + photo_fetch.MAX_ATTEMPTS
    assert _no_token_logged(caplog)


def test_without_a_media_id_the_picurl_is_downloaded(session, rules, crew, wechat_env, standin):
    picture = jpeg(640, 480)
    standin.media["p1"] = picture
    photo_id = _photo(session, crew, url=f"{standin.url}/_standin/pic/p1", media_id=None)
    assert photo_fetch.fetch_inspection_photo(photo_id) == "stored"
    assert _row(session, photo_id).data == picture
    gone = _photo(session, crew, url=f"{standin.url}/_standin/pic/gone", media_id=None)
    assert photo_fetch.fetch_inspection_photo(gone) == "failed"
    assert "404" in _row(session, gone).fetch_error


def test_a_photo_whose_job_was_lost_is_fetched_by_the_sweep(session, rules, crew, wechat_env, standin):
    standin.media["MEDIA-1"] = jpeg()
    photo_id = _photo(session, crew)  # its job is in Redis; say it was lost
    assert photo_fetch.sweep(older_than=timedelta(minutes=2)) == 0  # too new: its job may still run
    assert photo_fetch.sweep(older_than=timedelta(seconds=-1)) == 1
    assert _row(session, photo_id).stored
    standin.media_http_failures = [502]
    retrying = _photo(session, crew)
    assert photo_fetch.fetch_inspection_photo(retrying) == "retry"
    # Kept, or already tried (its later try is scheduled): the sweep leaves both alone.
    assert photo_fetch.sweep(older_than=timedelta(seconds=-1)) == 0
    assert standin.media_calls == 2


def test_the_sweep_takes_up_tries_that_stopped_half_way_but_never_past_the_limit(
    session, rules, crew, wechat_env, standin
):
    standin.media["MEDIA-1"] = jpeg()
    photo_id = _photo(session, crew)
    session.execute(
        update(RenovationPhoto).where(RenovationPhoto.id == photo_id).values(fetch_attempts=1)
    )  # a worker killed mid-download
    session.commit()
    assert photo_fetch.sweep(older_than=timedelta(seconds=-1)) == 0  # its retry may still come
    assert photo_fetch.sweep(older_than=timedelta(seconds=-1), stuck_after=timedelta(seconds=-1)) == 1
    assert _row(session, photo_id).stored
    spent = _photo(session, crew)
    session.execute(
        update(RenovationPhoto).where(RenovationPhoto.id == spent).values(fetch_attempts=photo_fetch.MAX_ATTEMPTS)
    )
    session.commit()
    assert photo_fetch.sweep(older_than=timedelta(seconds=-1), stuck_after=timedelta(seconds=-1)) == 0


def test_only_wechat_picture_hosts_are_downloaded(session, rules, crew, wechat_env, standin):
    allowed = photo_fetch.picture_url_allowed
    assert allowed(wechat_env, "https://mmbiz.qpic.cn/mmbiz_jpg/x/0")
    assert allowed(wechat_env, f"{standin.url}/_standin/pic/p1")  # the configured API's host
    for url in ("http://169.254.169.254/latest/meta-data", "https://qpic.cn.evil.example/x", "file:///etc/passwd"):
        assert not allowed(wechat_env, url)
    photo_id = _photo(session, crew, url="http://169.254.169.254/latest/meta-data", media_id=None)
    assert photo_fetch.fetch_inspection_photo(photo_id) == "failed"
    assert "不是微信的" in _row(session, photo_id).fetch_error
