"""What each kind of file holds: its columns (with the headers staff use), how a row becomes a
record, and the natural key that makes a re-import an update instead of a duplicate."""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from typing import Callable

from sqlalchemy import Table

from backend.core.models import (
    Building,
    Community,
    Contact,
    FeeBill,
    FeeDisclosure,
    FeePayment,
    FeeStandard,
    House,
    Notice,
    PaidService,
    RenovationHoliday,
    RenovationRule,
    Resident,
)
from backend.owners.imports import fields as f
from backend.owners.imports.lookup import Lookup
from backend.text import hours
from backend.text.addresses import Address

COMMUNITY = ("小区", "小区编码", "小区名称", "项目", "项目名称", "所属小区", "小区代码", "community_code")
PLACE = {
    "building": ("楼栋", "楼号", "栋", "楼", "栋号", "楼栋号", "幢", "幢号", "楼幢", "building"),
    "unit": ("单元", "单元号", "unit"),
    "room": ("房号", "室", "房间号", "室号", "门牌号", "room"),
    "address": ("房屋", "地址", "房屋地址", "房产", "房屋编号", "房屋名称", "房号全称", "门牌", "住址", "address"),
}
PHONE = ("手机号", "手机", "手机号码", "电话", "联系电话", "电话号码", "联系方式", "移动电话", "phone", "mobile")
HOUSE_NEEDS = [("building", "address"), ("room", "address")]


@dataclass
class Kind:
    name: str
    label: str
    model: type
    columns: dict[str, tuple[str, ...]]
    needs: list[tuple[str, ...]]  # each: one of these columns must be in the header
    key: tuple[str, ...]  # table columns of the natural key
    row: Callable[[dict, Lookup], dict]  # cells → column values; raises fields.BadValue
    # Checks across rows, once every row is read: [(index in records, reason)].
    check_all: Callable[[list[dict], Lookup], list[tuple[int, str]]] | None = None
    multiline: tuple[str, ...] = ()  # fields whose cells may hold line breaks (long texts)

    @property
    def table(self) -> Table:
        return self.model.__table__

    def key_of(self, values: dict) -> tuple:
        # A house's unit may be NULL: NULL and "" are the same key (see the houses index).
        return tuple("" if values[c] is None else values[c] for c in self.key)


def _grade(value) -> int:
    raw = str(value or "").strip()
    grades = {"": 2, "1": 1, "2": 2, "3": 3, "一级": 1, "二级": 2, "三级": 3}
    if raw not in grades:
        raise f.BadValue(f"服务等级「{value}」应是 1、2、3（一级、二级、三级）")
    return grades[raw]


def _community_row(c: dict, look: Lookup) -> dict:
    code = f.text(c.get("code"), "小区编码", max_len=32).upper()
    if not re.fullmatch(r"[A-Z0-9_-]+", code):
        raise f.BadValue(f"小区编码「{code}」只能用字母、数字")
    return dict(
        code=code,
        name=f.text(c.get("name"), "小区名称", max_len=100),
        service_grade=_grade(look.default(c, "grade", "服务等级", "2")),
        hotline=f.text(c.get("hotline"), "服务电话", required=False, max_len=32),
        desk_hours=f.text(c.get("desk_hours"), "服务时间", required=False, max_len=32),
        address=f.text(c.get("address"), "服务中心地址", required=False),
        desk_hours_per_day=_hours_a_day(c.get("desk_hours_per_day")),
        hotline_24h=f.flag(c.get("hotline_24h"), False),
        duty_phone=f.text(c.get("duty_phone"), "24小时值班电话", required=False, max_len=32),
    )


def _hours_a_day(value) -> int | None:
    """ "24", "24小时", "12h", "全天" → hours a day the desk is staffed; blank: read it from 服务时间."""
    raw = re.sub(r"\s+", "", f.unicodedata.normalize("NFKC", str(value or ""))).lower()
    if not raw:
        return None
    if raw in ("全天", "24小时值班", "全天候"):
        return 24
    m = re.fullmatch(r"(\d{1,2})(?:\.0+)?(?:小时|个小时|h|hours?)?(?:/天|/日|每天)?", raw)
    if not m or not 1 <= int(m.group(1)) <= 24:
        raise f.BadValue(f"每天服务时长「{value}」应是 1 到 24 之间的小时数，例如 24、12、8")
    return int(m.group(1))


def _building_row(c: dict, look: Lookup) -> dict:
    community_id = look.community(c.get("community"))
    code = f.building(c.get("code"))
    return dict(
        community_id=community_id,
        code=code,
        name=f.text(c.get("name"), "名称", required=False, max_len=50) or Address(code).label,
    )


def _house_row(c: dict, look: Lookup) -> dict:
    community_id = look.community(c.get("community"))
    address = f.address(c)
    return dict(
        building_id=look.building(community_id, address.building),
        unit=address.unit,
        room=address.room,
        floor_area=f.area(c.get("area")),
    )


def _resident_row(c: dict, look: Lookup) -> dict:
    community_id = look.community(c.get("community"))
    return dict(
        house_id=look.house(community_id, f.address(c)),
        name=f.text(c.get("name"), "姓名", max_len=50),
        phone=f.mobile(look.blank(c, "phone", "没有手机号，这些住户不能在公众号自己绑定房屋"), required=False),
        role=f.role(look.default(c, "role", "身份", "业主")),
    )


def _fee_unit(value) -> tuple[str, str] | None:
    """(how, period): ("area", "月") for 元/m²/月 and its spellings; ("fixed", period) for a sum
    per 月 (元/户/月, 元/个/月 for a parking space), 小时 or 天 (临时停车), 次, 年, 吨 or 度 (water and
    power collected for the utility), or 一次性 (a
    deposit: 装修保证金); None for blank. Anything else (元/斤...) is refused rather than guessed."""
    raw = re.sub(r"\s+", "", f.unicodedata.normalize("NFKC", str(value or ""))).lower()
    raw = raw.replace("·", "/").replace("•", "/").replace("每", "/").replace("÷", "/")
    raw = re.sub(r"[()（）]", "/", raw).strip("/")
    if not raw:
        return None
    if re.fullmatch(r"(?:元)?/?(?:m²|m2|㎡|平方米|平米|平方|平)/?(?:月|个月)", raw):
        return "area", "月"
    if re.fullmatch(r"(?:元)?/?(?:(?:户|个|辆|车位|位|套)/?)?(?:月|个月)", raw):
        return "fixed", "月"
    m = re.fullmatch(r"(?:元)?/?(?:(?:户|个|辆|车|车位|位|套)/?)?(小时|天|日|次|年|吨|度|立方米|方)", raw)
    if m:
        return "fixed", {"日": "天", "立方米": "吨", "方": "吨"}.get(m.group(1), m.group(1))
    if re.fullmatch(r"(?:元)?/?(?:(?:户|套)/?)?(?:一次性|一次|次性)(?:收取)?", raw) or raw == "元":
        return "fixed", "一次性"
    raise f.BadValue(f"计费单位「{value}」认不出来：应是 元/m²/月（按面积）、元/月、元/小时、元/次、元/年或一次性")


def _standard_row(c: dict, look: Lookup) -> dict:
    community_id = look.community(c.get("community"))
    scope = f.scope(c.get("building"))
    if scope:
        look.building(community_id, scope)
    price_text = str(c.get("price") or "")
    unit = _fee_unit(c.get("unit") or "")
    if unit is None:  # 2.80元/m²/月 typed in the price cell
        m = re.search(r"元?\s*/.*$", price_text)
        if m and _fee_unit(m.group()):
            unit, price_text = _fee_unit(m.group()), price_text[: m.start()]
    unit_text, period = unit or ("", "月")
    if c.get("per_area", "") == "" and not unit_text:
        look.default(c, "unit", "计费单位", "元/m²/月")
        unit_text = "area"
    per_area = f.flag(c.get("per_area"), default=unit_text == "area")
    if unit_text and per_area != (unit_text == "area"):
        raise f.BadValue(f"「按面积」填的是「{c.get('per_area')}」，和计费单位「{c.get('unit')}」对不上", "per_area")
    price = f.money(price_text, "单价", places=Decimal("0.0001"))
    if price == 0:
        raise f.BadValue("单价不能是0")
    return dict(
        community_id=community_id,
        item=f.text(look.default(c, "item", "收费项目", "物业费"), "收费项目", max_len=32),
        building_code=scope,
        unit_price=price,
        per_area=per_area,
        pay_methods=f.text(c.get("pay_methods"), "缴费方式", required=False, max_len=500),
        late_fee_rule=f.text(c.get("late_fee_rule"), "滞纳金规定", required=False, max_len=500),
        effective_from=f.day(c.get("effective_from"), "生效日期", required=False),
        period_unit=period,
        note=f.text(c.get("note"), "说明", required=False, max_len=500),
    )


def _bill_row(c: dict, look: Lookup) -> dict:
    community_id = look.community(c.get("community"))
    start = f.day(c.get("period_start"), "开始日期")
    end = f.day(c.get("period_end"), "结束日期")
    if end < start:
        raise f.BadValue(f"结束日期 {end} 早于开始日期 {start}")
    return dict(
        house_id=look.house(community_id, f.address(c)),
        item=f.text(look.default(c, "item", "收费项目", "物业费"), "收费项目", max_len=32),
        period=f.period(c.get("period")),
        period_start=start,
        period_end=end,
        amount=f.money(c.get("amount"), "应收金额"),
        due_date=f.day(c.get("due_date"), "缴费截止日"),
    )


def _payment_row(c: dict, look: Lookup) -> dict:
    community_id = look.community(c.get("community"))
    house_id = look.house(community_id, f.address(c))
    item = f.text(look.default(c, "item", "收费项目", "物业费"), "收费项目", max_len=32)
    amount = f.money(c.get("amount"), "实收金额")
    if amount == 0:
        raise f.BadValue("实收金额不能是0")
    return dict(
        community_id=community_id,
        receipt_no=f.text(c.get("receipt_no"), "收据号", max_len=64),
        bill_id=look.bill(community_id, house_id, item, f.period(c.get("period"))),
        amount=amount,
        paid_on=f.day(c.get("paid_on"), "缴费日期"),
        method=f.text(c.get("method"), "缴费方式", required=False, max_len=32),
    )


def _payments_fit_their_bills(records: list[dict], look: Lookup) -> list[tuple[int, str]]:
    """After the import a bill's payments are the recorded ones this file does not re-send plus
    the file's own: flag the row that takes a bill past its amount (多收)."""
    in_file = {(r["community_id"], r["receipt_no"]) for r in records}
    paid: dict[int, Decimal] = defaultdict(Decimal)
    for community_id in {r["community_id"] for r in records}:
        for receipt, (bill_id, amount) in look.recorded_payments(community_id).items():
            if (community_id, receipt) not in in_file:
                paid[bill_id] += amount
    problems = []
    for index, r in enumerate(records):
        billed, before = look.bill_amount(r["bill_id"]), paid[r["bill_id"]]
        paid[r["bill_id"]] += r["amount"]
        if paid[r["bill_id"]] > billed:
            problems.append((index, f"这期应收{billed}元，已缴{before}元，再收{r['amount']}元就多收了"))
    return problems


def _disclosure_row(c: dict, look: Lookup) -> dict:
    url = f.text(c.get("url"), "链接", required=False, max_len=500)
    if url and not re.match(r"https?://", url):
        raise f.BadValue(f"链接「{url}」应以 http:// 或 https:// 开头")
    return dict(
        community_id=look.community(c.get("community")),
        period=f.period(c.get("period"), "公示期间"),
        title=f.text(c.get("title"), "标题"),
        url=url,
        published_on=f.day(c.get("published_on"), "公示日期"),
    )


def _notice_row(c: dict, look: Lookup) -> dict:
    community_id = look.community(c.get("community"))
    scope = f.scope(c.get("building"))
    if scope:
        look.building(community_id, scope)
    published = f.day(c.get("published_on"), "发布日期")
    expires = f.day(c.get("expires_on"), "截止日期", required=False)
    if expires and expires < published:
        raise f.BadValue(f"截止日期 {expires} 早于发布日期 {published}")
    return dict(
        community_id=community_id,
        building_code=scope,
        title=f.text(c.get("title"), "标题"),
        body=f.text(c.get("body"), "内容", required=False, max_len=2000),
        published_on=published,
        expires_on=expires,
    )


def _paid_service_row(c: dict, look: Lookup) -> dict:
    raw_price = str(c.get("price") or "").strip()
    price = None if raw_price in ("面议", "另议", "现场报价") else f.money(raw_price, "价格")
    return dict(
        community_id=look.community(c.get("community")),
        item=f.text(c.get("item"), "服务项目", max_len=50),
        price=price,
        unit=f.text(look.default(c, "unit", "单位", "次"), "单位", max_len=16).removeprefix("元/") or "次",
        note=f.text(c.get("note"), "说明", required=False, lines=True),
    )


def _contact_row(c: dict, look: Lookup) -> dict:
    community_id = look.community(c.get("community"))
    scope = f.scope(c.get("building"))
    if scope:
        look.building(community_id, scope)
    phone = f.text(c.get("phone"), "电话", max_len=32)
    if not re.fullmatch(r"[\d\s+()\-转]{7,}", phone):
        raise f.BadValue("电话号码格式不对")
    return dict(
        community_id=community_id,
        building_code=scope,
        role=f.text(look.default(c, "role", "岗位", "管家"), "岗位", max_len=32),
        name=f.text(c.get("name"), "姓名", max_len=50),
        phone=phone,
        hours=f.text(c.get("hours"), "服务时间", required=False, max_len=64),
    )


def _hours(value, label: str, required: bool) -> str | None:
    raw = str(value or "").strip()
    if not raw:
        if required:
            raise f.BadValue(f"缺少{label}（如 8:00-12:00，14:00-18:00）")
        return None
    try:
        return hours.stored(hours.parse(raw))
    except hours.BadHours as exc:
        raise f.BadValue(f"{label}：{exc}") from None


def _renovation_rule_row(c: dict, look: Lookup) -> dict:
    noisy = _hours(c.get("noisy_hours"), "允许施工时间", required=True)
    if not noisy:
        raise f.BadValue("允许施工时间不能是「不允许」：写上工作日可以施工的时间段")
    deposit = f.money(c.get("deposit"), "装修押金")
    return dict(
        community_id=look.community(c.get("community")),
        noisy_hours=noisy,
        weekend_hours=_hours(c.get("weekend_hours"), "周末施工时间", required=False),
        deposit=deposit,
        forbidden=f.text(c.get("forbidden"), "禁止事项", max_len=2000),
        documents=f.text(c.get("documents"), "所需材料", required=False, max_len=2000),
        notes=f.text(c.get("notes"), "其他规定", required=False, max_len=2000),
    )


# 类型 of a renovation-holidays row: a day off (放假) or a 调休 working day (上班).
HOLIDAY_KINDS = {
    **dict.fromkeys(("放假", "休", "休息", "假", "假日", "节假日", "法定节假日", "放假日"), False),
    **dict.fromkeys(("上班", "班", "补班", "调休", "调休上班", "调休上班日", "工作日"), True),
}


def _renovation_holiday_row(c: dict, look: Lookup) -> dict:
    community_id = look.community(c.get("community"))
    first = f.day(c.get("starts_on"), "日期")
    last = f.day(c.get("ends_on"), "结束日期", required=False) or first
    if last < first:
        raise f.BadValue(f"结束日期 {last} 早于开始日期 {first}", "ends_on")
    if (last - first).days > 31:
        raise f.BadValue(f"{first} 至 {last} 超过一个月了，请检查日期", "ends_on")
    kind = re.sub(r"\s+", "", str(look.default(c, "kind", "类型", "放假")))
    if kind not in HOLIDAY_KINDS:
        raise f.BadValue(f"类型「{c.get('kind')}」应是「放假」或「调休上班」", "kind")
    workday = HOLIDAY_KINDS[kind]
    if workday:
        # Blank: noisy work as on working days.
        noisy = _hours(c.get("noisy_hours"), "允许施工时间", required=False)
    else:
        # Blank: no noisy work on a day off (法定节假日 usually forbid it all day).
        noisy = _hours(look.default(c, "noisy_hours", "允许施工时间", "不允许"), "允许施工时间", required=False)
    return dict(
        community_id=community_id,
        starts_on=first,
        ends_on=last,
        name=f.text(c.get("name"), "名称", required=False, max_len=50),
        workday=workday,
        noisy_hours=noisy,
    )


def _holidays_do_not_overlap(records: list[dict], look: Lookup) -> list[tuple[int, str]]:
    """Two rows of one community covering the same day would contradict each other."""
    spans: dict[int, list[tuple]] = defaultdict(list)
    for index, r in enumerate(records):
        spans[r["community_id"]].append((r["starts_on"], r["ends_on"], index))
    problems = []
    for rows in spans.values():
        rows.sort()
        for (a_first, a_last, _), (b_first, b_last, b_index) in zip(rows, rows[1:]):
            if b_first <= a_last:
                problems.append((b_index, f"{b_first} 至 {b_last} 和另一行的 {a_first} 至 {a_last} 重叠了"))
    return problems


KINDS: dict[str, Kind] = {
    k.name: k
    for k in [
        Kind(
            "communities",
            "小区",
            Community,
            {
                "code": ("小区编码", "编码", "小区代码", "项目编码"),
                "name": ("小区名称", "名称", "小区", "项目名称"),
                "grade": ("服务等级", "等级", "物业服务等级"),
                "hotline": ("服务电话", "客服电话", "物业电话", "电话", "联系电话", "服务热线"),
                "desk_hours": ("服务时间", "上班时间", "办公时间", "工作时间"),
                "address": ("服务中心地址", "地址", "物业地址", "服务中心"),
                "desk_hours_per_day": ("每天服务时长", "每日服务时长", "服务时长", "客服值班时长", "前台服务时长"),
                "hotline_24h": ("电话24小时", "24小时服务", "服务电话24小时", "是否24小时"),
                "duty_phone": ("24小时值班电话", "值班电话", "监控室电话", "24小时电话"),
            },
            [("code",), ("name",)],
            ("code",),
            _community_row,
        ),
        Kind(
            "buildings",
            "楼栋",
            Building,
            {
                "community": COMMUNITY,
                "code": ("楼栋", "楼号", "楼栋编号", "栋号", "楼栋号", "幢", "幢号", "栋"),
                "name": ("名称", "楼栋名称"),
            },
            [("community",), ("code",)],
            ("community_id", "code"),
            _building_row,
        ),
        Kind(
            "houses",
            "房屋",
            House,
            {
                "community": COMMUNITY,
                **PLACE,
                "area": ("建筑面积", "面积", "房屋面积", "产权面积", "建面", "计费面积", "floor_area", "area"),
            },
            [("community",), *HOUSE_NEEDS, ("area",)],
            ("building_id", "unit", "room"),
            _house_row,
        ),
        Kind(
            "residents",
            "住户",
            Resident,
            {
                "community": COMMUNITY,
                **PLACE,
                "name": ("姓名", "住户姓名", "住户", "名字", "name"),
                "phone": PHONE,
                "role": ("身份", "类型", "住户类型", "与业主关系", "关系", "住户身份", "人员类型", "身份类型"),
            },
            [("community",), *HOUSE_NEEDS, ("name",)],
            ("house_id", "name"),
            _resident_row,
        ),
        Kind(
            "fee-standards",
            "收费标准",
            FeeStandard,
            {
                "community": COMMUNITY,
                "item": ("收费项目", "费用名称", "费用项目"),
                "building": ("楼栋", "适用楼栋", "适用范围"),
                "price": ("单价", "收费标准", "价格", "标准", "收费单价"),
                "unit": ("计费单位", "单位", "收费单位", "计价单位", "单价单位"),
                "per_area": ("按面积", "按面积收费", "按面积计费"),
                "pay_methods": ("缴费方式", "缴费渠道", "支付方式"),
                "late_fee_rule": ("滞纳金", "滞纳金规定", "逾期规定", "违约金", "滞纳金标准"),
                "effective_from": ("生效日期", "执行日期", "生效时间", "执行时间", "开始执行", "起始日期", "启用日期"),
                "note": ("说明", "备注", "收费说明"),
            },
            [("community",), ("price",)],
            ("community_id", "item", "building_code"),
            _standard_row,
        ),
        Kind(
            "bills",
            "账单",
            FeeBill,
            {
                "community": COMMUNITY,
                **PLACE,
                "item": ("收费项目", "费用名称", "费用项目"),
                "period": ("账期", "期间", "所属期", "费用期间", "计费期间", "账单月份", "月份"),
                "period_start": ("开始日期", "计费开始", "计费开始日期", "起始日期", "计费起始日"),
                "period_end": ("结束日期", "计费结束", "计费结束日期", "终止日期", "计费截止日"),
                "amount": ("应收金额", "应收", "金额", "应缴金额", "应收款", "费用金额", "应收费用"),
                "due_date": ("缴费截止日", "截止日期", "到期日", "最后缴费日", "缴费期限", "缴费截止日期"),
            },
            [("community",), *HOUSE_NEEDS, ("period",), ("period_start",), ("period_end",), ("amount",), ("due_date",)],
            ("house_id", "item", "period"),
            _bill_row,
        ),
        Kind(
            "payments",
            "缴费记录",
            FeePayment,
            {
                "community": COMMUNITY,
                **PLACE,
                "receipt_no": ("收据号", "票据号", "流水号", "单号", "收据编号", "票据编号"),
                "item": ("收费项目", "费用名称", "费用项目"),
                "period": ("账期", "期间", "所属期", "费用期间", "账单月份", "月份"),
                "amount": ("实收金额", "实收", "金额", "缴费金额", "收款金额", "实缴金额"),
                "paid_on": ("缴费日期", "收款日期", "缴费时间", "收款时间", "支付日期"),
                "method": ("缴费方式", "支付方式", "收款方式", "付款方式"),
            },
            [("community",), ("receipt_no",), *HOUSE_NEEDS, ("period",), ("amount",), ("paid_on",)],
            ("community_id", "receipt_no"),
            _payment_row,
            _payments_fit_their_bills,
        ),
        Kind(
            "disclosures",
            "收支公示",
            FeeDisclosure,
            {
                "community": COMMUNITY,
                "period": ("公示期间", "期间", "所属期"),
                "title": ("标题", "公示标题"),
                "url": ("链接", "网址", "链接地址"),
                "published_on": ("公示日期", "发布日期", "公示时间", "发布时间"),
            },
            [("community",), ("period",), ("title",), ("published_on",)],
            ("community_id", "period"),
            _disclosure_row,
        ),
        Kind(
            "notices",
            "通知",
            Notice,
            {
                "community": COMMUNITY,
                "building": ("楼栋", "适用楼栋", "范围", "适用范围"),
                "title": ("标题", "通知标题", "公告标题"),
                "body": ("内容", "正文", "通知内容", "公告内容"),
                "published_on": ("发布日期", "发布时间"),
                "expires_on": ("截止日期", "有效期至", "结束日期", "截止时间"),
            },
            [("community",), ("title",), ("published_on",)],
            ("community_id", "published_on", "title"),
            _notice_row,
            multiline=("body",),
        ),
        Kind(
            "paid-services",
            "有偿服务价目",
            PaidService,
            {
                "community": COMMUNITY,
                "item": ("服务项目", "服务名称"),
                "price": ("价格", "收费", "单价", "收费标准"),
                "unit": ("单位", "计价单位", "收费单位"),
                "note": ("说明", "备注"),
            },
            [("community",), ("item",), ("price",)],
            ("community_id", "item"),
            _paid_service_row,
            multiline=("note",),
        ),
        Kind(
            "contacts",
            "联系人",
            Contact,
            {
                "community": COMMUNITY,
                "building": ("楼栋", "负责楼栋", "负责范围"),
                "role": ("岗位", "角色", "职务"),
                "name": ("姓名", "名字"),
                "phone": PHONE,
                "hours": ("服务时间", "值班时间", "上班时间", "工作时间"),
            },
            [("community",), ("name",), ("phone",)],
            ("community_id", "building_code", "role"),
            _contact_row,
        ),
        Kind(
            "renovation-rules",
            "装修规定",
            RenovationRule,
            {
                "community": COMMUNITY,
                "noisy_hours": ("允许施工时间", "施工时间", "噪音施工时间", "装修时间", "工作日施工时间"),
                "weekend_hours": ("周末施工时间", "节假日施工时间", "周末及节假日施工时间", "双休日施工时间"),
                "deposit": ("装修押金", "押金", "装修保证金", "保证金"),
                "forbidden": ("禁止事项", "禁止行为", "不允许", "装修禁止事项"),
                "documents": ("所需材料", "申请材料", "需要材料", "办理材料"),
                "notes": ("其他规定", "其他", "补充规定", "装修须知"),
            },
            [("community",), ("noisy_hours",), ("deposit",), ("forbidden",)],
            ("community_id",),
            _renovation_rule_row,
            multiline=("forbidden", "documents", "notes"),
        ),
        Kind(
            "renovation-holidays",
            "装修节假日",
            RenovationHoliday,
            {
                "community": COMMUNITY,
                "starts_on": ("日期", "开始日期", "放假日期", "起始日期", "开始", "假期开始"),
                "ends_on": ("结束日期", "截止日期", "结束", "假期结束"),
                "name": ("名称", "节日", "节日名称", "假日名称"),
                "kind": ("类型", "放假/上班", "安排"),
                "noisy_hours": ("允许施工时间", "施工时间", "噪音施工时间", "装修时间"),
            },
            [("community",), ("starts_on",)],
            ("community_id", "starts_on"),
            _renovation_holiday_row,
            _holidays_do_not_overlap,
        ),
    ]
}
# A folder is imported in this order: each kind refers only to kinds before it.
ORDER = list(KINDS)
