"""装修 in the console, continued: a returned application corrected for the owner, a cancel with
its reason, inspection photos uploaded as files (checked, kept, shown as thumbnails, served only
to staff with the type found in the file), and hostile uploads: a 20 MB photo, a body past the
limit, a page posing as a photo, an SVG, a path in the file name. SQLite and PostgreSQL."""

from __future__ import annotations

import io
from datetime import timedelta

from PIL import Image
from sqlalchemy import select

from backend.core.clock import SHANGHAI, aware_now
from backend.core.models import AuditLog, RenovationApplication, RenovationPhoto
from backend.work import photo_files, renovation
from tests.console.conftest import csrf_token, post_form
from tests.console.test_console_renovation import _application, _messages


def jpeg(width=1200, height=900) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), "orange").save(out, "JPEG")
    return out.getvalue()


def _approved(session, world) -> int:
    app_id = _application(session, world)
    renovation.approve(session, session.get(RenovationApplication, app_id), "console:test")
    session.commit()
    return app_id


def _returned(session, world, reason="请补充水电改造图纸") -> int:
    app_id = _application(session, world)
    renovation.return_with_reason(session, session.get(RenovationApplication, app_id), "console:test", reason)
    session.commit()
    return app_id


def _upload(client, path, files, data=None, page="/renovation"):
    token = csrf_token(client, page)
    return client.post(
        path, data={**(data or {}), "csrf_token": token, "photos": files}, content_type="multipart/form-data"
    )


def _audit(session) -> list[str]:
    rows = [a for (a,) in session.execute(select(AuditLog.action).where(AuditLog.target_type == "renovation"))]
    session.commit()
    return rows


def test_desk_corrects_a_returned_application_for_the_owner(session, world, as_role):
    app_id = _returned(session, world)
    desk = as_role("customer_service")
    page = desk.get(f"/renovation/{app_id}").get_data(as_text=True)
    assert "代业主修改并重新提交" in page and "请补充水电改造图纸" in page
    assert "13900001111" not in page  # the phone field is left blank, its number masked in the hint
    later = (aware_now().astimezone(SHANGHAI) + timedelta(days=3)).date()
    bad = post_form(desk, f"/renovation/{app_id}/resubmit", {"ends_on": "2020-01-01"}, page="/renovation")
    assert bad.status_code == 400 and "完工日期早于开工日期" in bad.get_data(as_text=True)
    garbled = post_form(desk, f"/renovation/{app_id}/resubmit", {"starts_on": "明天"}, page="/renovation")
    assert garbled.status_code == 400 and "不是日期" in garbled.get_data(as_text=True)
    resp = post_form(
        desk,
        f"/renovation/{app_id}/resubmit",
        {
            "work": "厨房卫生间翻新（已补水电改造图纸）",
            "contractor": "安居装饰",
            "contractor_phone": "",
            "starts_on": later.isoformat(),
            "ends_on": (later + timedelta(days=20)).isoformat(),
            "workers": "3",
            "note": "业主来电，图纸已送到服务中心",
        },
        page="/renovation",
    )
    assert resp.status_code == 302
    session.expire_all()
    app = session.get(RenovationApplication, app_id)
    assert app.status == "submitted" and app.workers == 3 and app.contractor_phone == "13900001111"
    assert app.steps[-1].kind == "resubmitted" and "业主来电" in app.steps[-1].note
    session.commit()
    told = _messages(session)[-1]
    assert "物业已帮您重新提交审批" in told and "施工人数：2人 → 3人" in told
    page = desk.get(f"/renovation/{app_id}").get_data(as_text=True)
    assert "待审批" in page and "重新提交" in page and "代业主修改并重新提交" not in page
    assert _audit(session) == ["renovation.resubmit"]
    tech = as_role("technician")
    assert post_form(tech, f"/renovation/{app_id}/resubmit", {}, page="/renovation").status_code == 403


def test_cancel_needs_a_reason_and_tells_the_owner(session, world, as_role):
    app_id = _approved(session, world)
    desk = as_role("supervisor")
    assert 'data-confirm="确定取消装修申请' in desk.get(f"/renovation/{app_id}").get_data(as_text=True)
    empty = post_form(desk, f"/renovation/{app_id}/cancel", {"reason": "  "}, page="/renovation")
    assert empty.status_code == 400 and "原因" in empty.get_data(as_text=True)
    assert (
        post_form(
            as_role("technician"), f"/renovation/{app_id}/cancel", {"reason": "x"}, page="/renovation"
        ).status_code
        == 403
    )
    resp = post_form(desk, f"/renovation/{app_id}/cancel", {"reason": "业主来电：暂不装修"}, page="/renovation")
    assert resp.status_code == 302
    assert "已取消" in _messages(session)[-1] and "业主来电：暂不装修" in _messages(session)[-1]
    page = desk.get(f"/renovation/{app_id}").get_data(as_text=True)
    assert "已取消" in page and "业主来电：暂不装修" in page and 'id="cancel"' not in page
    assert _audit(session) == ["renovation.cancel"]


def test_inspection_photos_are_uploaded_shown_as_thumbnails_and_served_to_staff(session, world, as_role, app):
    app_id = _approved(session, world)
    tech = as_role("technician")
    resp = _upload(
        tech,
        f"/renovation/{app_id}/inspection",
        [(io.BytesIO(jpeg()), "现场.jpg", "image/jpeg"), (io.BytesIO(jpeg(300, 400)), "燃气管.jpg", "image/jpeg")],
        {"findings": "擅自移动燃气管道", "violation": "1"},
    )
    assert resp.status_code == 302
    assert "擅自移动燃气管道" in _messages(session)[-1]
    photos = session.execute(select(RenovationPhoto).order_by(RenovationPhoto.id)).scalars().all()
    ids = [p.id for p in photos]
    session.commit()
    assert len(ids) == 2
    page = tech.get(f"/renovation/{app_id}").get_data(as_text=True)
    assert f'src="/renovation/photos/{ids[0]}/thumb"' in page and f'href="/renovation/photos/{ids[1]}"' in page

    full = tech.get(f"/renovation/photos/{ids[0]}")
    assert full.status_code == 200 and full.mimetype == "image/jpeg" and full.data == jpeg()
    assert full.headers["X-Content-Type-Options"] == "nosniff" and "sandbox" in full.headers["Content-Security-Policy"]
    thumb = tech.get(f"/renovation/photos/{ids[0]}/thumb")
    with Image.open(io.BytesIO(thumb.data)) as small:
        assert thumb.mimetype == "image/jpeg" and max(small.size) == photo_files.THUMB
    assert tech.get("/renovation/photos/999999").status_code == 404
    assert tech.get(f"/renovation/photos/{ids[0]}/big").status_code == 404
    anonymous = app.test_client().get(f"/renovation/photos/{ids[0]}")
    assert anonymous.status_code in (302, 401) and anonymous.data != jpeg()

    # More photos for the same inspection, later, from the page.
    inspection_id = session.execute(select(RenovationPhoto.inspection_id)).scalars().first()
    session.commit()
    more = _upload(
        tech,
        f"/renovation/{app_id}/inspections/{inspection_id}/photos",
        [(io.BytesIO(jpeg(200, 200)), "补拍.jpg", "image/jpeg")],
    )
    assert more.status_code == 302
    assert "补充巡查照片" in tech.get(f"/renovation/{app_id}").get_data(as_text=True)
    assert _audit(session) == ["renovation.inspection", "renovation.photos"]


def test_hostile_uploads_get_a_clear_4xx_and_nothing_is_kept(session, world, as_role):
    app_id = _approved(session, world)
    tech = as_role("technician")
    told = len(_messages(session))
    big = b"\xff\xd8\xff\xe0" + b"0" * (20 * 1024 * 1024)  # 20 MB "photo"
    cases = [
        ([(io.BytesIO(big), "大图.jpg", "image/jpeg")], 400, "每张不能超过 8 MB"),
        ([(io.BytesIO(b"<html><script>alert(1)</script>"), "x.jpg", "image/jpeg")], 400, "不是能打开的照片"),
        (
            [(io.BytesIO(b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>'), "a.svg", "image/svg+xml")],
            400,
            "不是能打开的照片",
        ),
        (
            [(io.BytesIO(b"MZ\x90\x00" + b"\x00" * 500), "setup.exe", "application/octet-stream")],
            400,
            "不是能打开的照片",
        ),
        ([(io.BytesIO(jpeg(40, 40)), f"{i}.jpg", "image/jpeg") for i in range(5)], 400, "一次最多传 4 张"),
    ]
    for files, status, words in cases:
        resp = _upload(
            tech, f"/renovation/{app_id}/inspection", files, {"findings": "擅自拆改承重墙", "violation": "1"}
        )
        body = resp.get_data(as_text=True)
        assert resp.status_code == status and words in body, (words, resp.status_code)
        assert "<script>alert(1)" not in body
    # A body past the page's limit is refused before it is read, with what the limit is.
    huge = b"0" * (renovation_limit() + 1024)
    resp = _upload(tech, f"/renovation/{app_id}/inspection", [(io.BytesIO(huge), "huge.jpg", "image/jpeg")])
    assert resp.status_code == 413 and "每张不超过 8 MB" in resp.get_data(as_text=True)
    # A path in the name is only a label: the photo is kept in the database under a plain name.
    ok = _upload(
        tech,
        f"/renovation/{app_id}/inspection",
        [(io.BytesIO(jpeg()), "../../../../etc/cron.d/evil.jpg", "text/html")],
        {"findings": "现场正常"},
    )
    assert ok.status_code == 302
    (kept,) = session.execute(select(RenovationPhoto)).scalars().all()
    assert (kept.filename, kept.content_type, kept.url) == ("evil.jpg", "image/jpeg", "")
    session.commit()
    assert tech.get(f"/renovation/photos/{kept.id}").mimetype == "image/jpeg"  # never the browser's text/html
    app = session.get(RenovationApplication, app_id)
    assert [i.violation for i in app.inspections] == [False]  # the refused violations were not recorded
    session.commit()
    assert len(_messages(session)) == told  # and the owner was not told of them


def renovation_limit() -> int:
    from console.renovation import PHOTO_UPLOAD_LIMIT

    return PHOTO_UPLOAD_LIMIT


def test_the_rules_on_the_page_name_the_coming_holidays(session, world, as_role, tmp_path):
    from backend.owners.imports import import_file
    from tests.backend.test_backend_renovation import write_csv

    today = aware_now().astimezone(SHANGHAI).date()
    first = today + timedelta(days=10)
    path = write_csv(
        tmp_path / "h.csv",
        ["小区", "名称", "日期", "结束日期", "类型"],
        [["XFL", "测试假日", first.isoformat(), (first + timedelta(days=2)).isoformat(), "放假"]],
    )
    assert import_file(session, "renovation-holidays", path).ok
    session.commit()
    app_id = _application(session, world)
    page = as_role("technician").get(f"/renovation/{app_id}").get_data(as_text=True)
    assert f"测试假日 {first.month}月{first.day}日至" in page and "全天不允许" in page


def test_a_wechat_photo_is_a_link_until_kept_then_a_stored_thumbnail(session, world, as_role):
    """The worker's job (tests/backend/test_backend_photo_fetch.py) fills the row; the page then
    shows the kept thumbnail, no longer WeChat's expiring link; a photo that could not be kept says why."""
    app_id = _approved(session, world)
    app = session.get(RenovationApplication, app_id)
    wechat = "https://mmbiz.qpic.cn/mmbiz_jpg/abc/0"
    inspection = renovation.record_inspection(
        session, app, "staff:1", "现场正常", photos=[(wechat, "MEDIA-1"), ("https://mmbiz.qpic.cn/gone/0", "OLD")]
    )
    session.commit()
    kept, lost = inspection.photos
    tech = as_role("technician")
    page = tech.get(f"/renovation/{app_id}").get_data(as_text=True)
    assert f'href="{wechat}"' in page and "正在保存" in page and f"/renovation/photos/{kept.id}/thumb" not in page

    photo = photo_files.read(jpeg(), "x.jpg")
    kept.content_type, kept.data, kept.thumb, kept.size = photo.content_type, photo.data, photo.thumb, len(photo.data)
    lost.fetch_error = "微信素材已无法下载（errcode=40007）"
    session.commit()
    page = tech.get(f"/renovation/{app_id}").get_data(as_text=True)
    assert f'src="/renovation/photos/{kept.id}/thumb"' in page and f'href="{wechat}"' not in page
    assert "照片未能保存：微信素材已无法下载（errcode=40007）" in page and "正在保存" not in page
    thumb = tech.get(f"/renovation/photos/{kept.id}/thumb")
    assert thumb.status_code == 200 and thumb.data == photo.thumb
