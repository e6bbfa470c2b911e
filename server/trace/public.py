"""The public side of a trace code (扫码溯源): what a consumer sees (never the buyer), scan counting
with coarse place and time, counterfeit suspicion flags (疑似假冒) for the office, and the SMS lookup.

The batch part of the view is cached in Redis under the batch's namespace (bumped on every change and
on recall); the per-code part (scan count, suspicion) is read fresh."""
from __future__ import annotations

import hashlib
import hmac
import ipaddress
import logging
import math
import re
from datetime import datetime, timedelta
from typing import Any

import orjson
from tortoise.exceptions import IntegrityError
from tortoise.expressions import F

from server.catalog import taxonomy
from server.kit import clock, runtime
from server.kit import redis as kr
from server.kit.errors import KitCode, NotFound, RateLimited, Unauthorized, ValidationFailed
from server.models.catalog import Certification, Product, Sku
from server.models.merchants import Merchant
from server.models.trace import (Batch, BatchCorrection, BatchInspection, BatchStatus, BatchStep, Recall,
                                 TraceCode, TraceFlag, TraceScan, TraceSmsInbound)
from server.trace import codes
from server.trace.schemas import ScanHint, TraceView
from server.trace.service import batch_ns
from server.trace.errors import TraceErrorCode
from server.media.storage import get_storage
from server.trace.recall import destination_rows
from server.models.stations import Station
from server.kit.schemas import find_control_chars
from server.accounts import sms

log = logging.getLogger("kazuo.trace")

CERT_LABELS = {"pollution_free": "无公害农产品", "green": "绿色食品", "organic": "有机农产品",
               "geo_indication": "农产品地理标志", "sc_licence": "食品生产许可(SC)"}
FIELD_LABELS = {"producer_kind": "生产者类型", "producer_name": "生产者", "origin_town": "产地乡镇",
                "origin_village": "产地村", "origin_plot": "地块/基地", "produced_on": "生产/采收日期",
                "quantity": "批次数量", "responsible_name": "责任人", "responsible_phone": "责任人电话",
                "note": "备注", "step": "生产过程", "inspection": "检测报告"}
LEVEL_ORDER = {"county": 0, "town": 1, "village": 2}


class CodeNotFound(NotFound):
    code = TraceErrorCode.TRACE_CODE_NOT_FOUND


def _media_url(key: str) -> str:
    if not key:
        return ""
    try:
        return get_storage().url(key)
    except ValueError:
        return ""


def _image(ref: str) -> str:
    return ref if ref.startswith(("http://", "https://", "/")) else _media_url(ref)


async def _sold_through(b: Batch) -> list[dict]:
    """Where goods of the batch went, as places only (the county warehouse, destination stations)."""
    rows = await destination_rows(b)
    per: dict[int, dict] = {}
    county = None
    for r in rows:
        if r["county_id"]:
            county = r["county_id"]
        sid = r["station_id"]
        if sid:
            per.setdefault(sid, {"orders": set()})["orders"].add(r["order_id"])
    ids = set(per) | ({county} if county else set())
    names = {s["id"]: s for s in await Station.filter(id__in=list(ids)).values("id", "name", "level")} if ids else {}
    out = []
    if county and county in names:
        out.append({"name": names[county]["name"], "level": "county", "orders": len({r["order_id"] for r in rows})})
    for sid, v in per.items():
        if sid == county or sid not in names:
            continue
        out.append({"name": names[sid]["name"], "level": names[sid]["level"], "orders": len(v["orders"])})
    out.sort(key=lambda x: (LEVEL_ORDER.get(x["level"], 9), -x["orders"], x["name"]))
    return out[:30]


async def _batch_view(b: Batch) -> dict:
    p = await Product.get(id=b.product_id)
    m = await Merchant.get(id=b.merchant_id)
    sku_q = Sku.filter(product_id=p.id)
    if b.sku_ids:
        sku_q = sku_q.filter(id__in=list(b.sku_ids))
    specs = list(await sku_q.order_by("id").values_list("spec", flat=True))
    today = clock.local_today()
    certs = [{"kind": c.kind, "label": CERT_LABELS.get(c.kind, c.kind), "number": c.number, "issuer": c.issuer,
              "expires_on": c.expires_on.isoformat() if c.expires_on else None}
             for c in await Certification.filter(product_id=p.id).order_by("id")
             if c.expires_on is None or c.expires_on >= today]  # only those in force
    steps = [{"at": s.at.isoformat(), "actor": s.actor, "description": s.description,
              "photos": [u for u in (_media_url(k) for k in (s.photos or [])) if u],
              "corrected": s.correction_id is not None}
             for s in await BatchStep.filter(batch_id=b.id).order_by("at", "id")]
    insp = [{"lab": i.lab, "tested_on": i.tested_on.isoformat(), "result": i.result, "summary": i.summary,
             "file_url": _media_url(i.file), "corrected": i.correction_id is not None}
            for i in await BatchInspection.filter(batch_id=b.id).order_by("tested_on", "id")]
    corr = [{"field": FIELD_LABELS.get(c.field, c.field), "reason": c.reason, "at": c.created_at.isoformat()}
            for c in await BatchCorrection.filter(batch_id=b.id).order_by("id")]
    recall = await Recall.get_or_none(batch_id=b.id) if b.status == BatchStatus.RECALLED else None
    images = [i for i in (p.images or []) if isinstance(i, str)]
    return {
        "status": "recalled" if b.status == BatchStatus.RECALLED else "ok",
        "recall_reason": recall.reason if recall else "",
        "recalled_at": recall.created_at.isoformat() if recall else None,
        "product": {"id": p.id, "name": p.name, "brand": (await taxonomy.brand_labels()).get(p.brand, ""),
                    "image": _image(images[0]) if images else ""},
        "skus": specs,
        "batch": {"code": b.code, "produced_on": b.produced_on.isoformat() if b.produced_on else None,
                  "quantity": b.quantity, "trace_code": b.trace_code},
        "producer": {"kind": "农户" if b.producer_kind == "household" else "企业/合作社",
                     "name": b.producer_name or m.name, "merchant": m.name},
        "origin": {"town": b.origin_town, "village": b.origin_village, "plot": b.origin_plot},
        "responsible": b.responsible_name,
        "steps": steps, "inspections": insp, "certifications": certs,
        "sold_through": await _sold_through(b), "corrections": corr,
    }


async def batch_view(b: Batch) -> dict:
    """The batch part of the public view, cached until the batch changes (or the TTL passes)."""
    ttl = runtime.settings().trace_page_cache_seconds
    version = await kr.namespace_version(batch_ns(b.id))
    k = kr.key("trace", "view", b.id, version)
    hit = await kr.cache_get(k)
    if hit is not None:
        return hit
    view = await _batch_view(b)
    await kr.cache_set(k, view, ttl)
    return view


# ---- scans --------------------------------------------------------------------------------------
def ip_prefix(ip: str) -> str:
    """The coarse network of a client (IPv4 /24, IPv6 /48): a place hint, not a person."""
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        return ""
    net = ipaddress.ip_network(f"{addr}/{24 if addr.version == 4 else 48}", strict=False)
    return str(net)


def _km(a: tuple[float, float], b: tuple[float, float]) -> float:
    lat1, lng1, lat2, lng2 = map(math.radians, (a[0], a[1], b[0], b[1]))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lng2 - lng1) / 2) ** 2
    return 6371.0 * 2 * math.asin(min(1.0, math.sqrt(h)))


async def _flag(tc: TraceCode, reason: str, data: dict) -> None:
    try:
        await TraceFlag.create(trace_code_id=tc.id, batch_id=tc.batch_id, reason=reason, data=data)
    except IntegrityError:
        return  # flagged for this reason already: the office has it
    await TraceCode.filter(id=tc.id).update(flagged=True)
    log.warning("trace code flagged", extra={"code": tc.code, "reason": reason})


async def _check_counterfeit(tc: TraceCode, count: int, now: datetime, here: tuple[float, float] | None,
                             city: str) -> None:
    """An item code is one jar: many scans, or scans far apart faster than goods travel, suggest
    copies of the label (批量仿冒)."""
    if tc.flagged:
        return  # the office has this code already; a flagged label keeps being scanned, cheaply
    s = runtime.settings()
    if count > s.trace_flag_scan_count:
        await _flag(tc, "many_scans", {"count": count, "limit": s.trace_flag_scan_count})
    since = now - timedelta(hours=s.trace_far_hours)
    recent = await TraceScan.filter(trace_code_id=tc.id, at__gte=since).order_by("-id").limit(200) \
        .values("lat", "lng", "city", "at")
    if here is not None:
        for r in recent:
            if r["lat"] is None or r["lng"] is None:
                continue
            d = _km(here, (r["lat"], r["lng"]))
            if d >= s.trace_far_km:
                await _flag(tc, "far_apart", {"km": round(d), "hours": s.trace_far_hours,
                                              "at": [r["at"].isoformat(), now.isoformat()]})
                return
    cities = {r["city"] for r in recent if r["city"]} | ({city} if city else set())
    if len(cities) >= 3:
        await _flag(tc, "far_apart", {"cities": sorted(cities)[:10], "hours": s.trace_far_hours})


async def record_scan(tc: TraceCode, channel: str, hint: ScanHint | None, ip: str) -> int:
    """Count one scan with its coarse place; returns the code's scan count (uncounted floods return
    the current count)."""
    s = runtime.settings()
    prefix = ip_prefix(ip) if ip else ""
    try:
        await kr.hit_limit("trace_scan", prefix or ip or "-", s.trace_scans_per_ip_per_minute, 60)
    except RateLimited:
        return tc.scan_count
    now = clock.now()
    lat = lng = None
    city = ""
    if hint is not None:
        city = (hint.city or "").strip()[:32]
        if hint.lat is not None and hint.lng is not None and math.isfinite(hint.lat) and math.isfinite(hint.lng):
            lat, lng = round(hint.lat, 1), round(hint.lng, 1)  # about 10 km: a town, not a house
    await TraceCode.filter(id=tc.id).update(scan_count=F("scan_count") + 1, last_scan_at=now)
    await TraceCode.filter(id=tc.id, first_scan_at=None).update(first_scan_at=now)
    count = (await TraceCode.filter(id=tc.id).values_list("scan_count", flat=True))[0]
    if tc.kind == "item":
        await _check_counterfeit(tc, count, now, (lat, lng) if lat is not None else None, city)
    await TraceScan.create(trace_code_id=tc.id, at=now, channel=channel, city=city, lat=lat, lng=lng,
                           ip_prefix=prefix)
    return count


async def lookup(raw: str, *, channel: str, hint: ScanHint | None = None, ip: str = "",
                 count: bool = True) -> TraceView:
    """What a scan of `raw` shows (404 trace_code_not_found for malformed or unknown codes)."""
    code = codes.normalize(raw)
    if code is None:
        raise CodeNotFound("no such trace code")
    tc = await TraceCode.get_or_none(code=code)
    if tc is None:
        raise CodeNotFound("no such trace code")
    b = await Batch.get(id=tc.batch_id)
    view = await batch_view(b)
    n = await record_scan(tc, channel, hint, ip) if count else tc.scan_count
    fresh = await TraceCode.filter(id=tc.id).values("first_scan_at", "flagged")
    return TraceView(code=tc.code, kind=tc.kind, serial=tc.serial, scan_count=n,
                     first_scan_at=fresh[0]["first_scan_at"], suspicious=fresh[0]["flagged"],
                     url=codes.url(tc.code), **view)


# ---- SMS lookup (短信查询) -------------------------------------------------------------------------
def check_sms_signature(body: bytes, signature: str | None) -> None:
    """When a key is configured, the push must carry X-Kazuo-Signature = hex HMAC-SHA256(key, body). In
    production an unset key refuses every push: an unsigned one would make us text any number."""
    s = runtime.settings()
    key = s.trace_sms_inbound_key
    if key is None:
        if s.env == "production":
            raise Unauthorized("KAZUO_TRACE_SMS_INBOUND_KEY is not set: inbound SMS are refused",
                               code=KitCode.SIGNATURE_INVALID)
        return
    want = hmac.new(key.get_secret_value().encode(), body, hashlib.sha256).hexdigest()
    if not signature or not hmac.compare_digest(want, signature.strip().lower()):
        raise Unauthorized("bad signature", code=KitCode.SIGNATURE_INVALID)


def parse_sms_push(body: bytes) -> list[dict]:
    """Aliyun's SmsUp push (HTTP batch mode): a JSON array of {phone_number, content, send_time,
    sign_name, dest_code, sequence_id}; a single object is accepted too."""
    try:
        data = orjson.loads(body or b"")
    except orjson.JSONDecodeError:
        raise ValidationFailed.field("body", "a JSON array of messages") from None
    if isinstance(data, dict):
        data = [data]
    bad = find_control_chars(data)
    if bad:
        raise ValidationFailed.field(bad, "control characters are not allowed")
    if not isinstance(data, list) or not data or len(data) > 100:
        raise ValidationFailed.field("body", "a JSON array of 1 to 100 messages")
    out = []
    for i, m in enumerate(data):
        if not isinstance(m, dict):
            raise ValidationFailed.field(f"{i}", "a message object")
        phone = m.get("phone_number")
        content = m.get("content")
        seq = m.get("sequence_id")
        if not isinstance(phone, str) or not phone.strip():
            raise ValidationFailed.field(f"{i}.phone_number", "required")
        if not isinstance(content, str):
            raise ValidationFailed.field(f"{i}.content", "required")
        if isinstance(seq, bool) or not isinstance(seq, (int, str)) or not str(seq).strip():
            raise ValidationFailed.field(f"{i}.sequence_id", "required")
        out.append({"phone": phone.strip()[-11:], "content": content[:200], "id": str(seq)[:64]})
    return out


def _sms_answer(view: TraceView | None, code: str) -> dict:
    if view is None:
        return {"code": code[:20] or "-", "product": "未找到", "batch": "-", "status": "查无此码，请核对"}
    status = "已召回，请勿食用/使用" if view.status == "recalled" else (
        "查询次数异常，谨防假冒" if view.suspicious else f"正品，第{view.scan_count}次查询")
    return {"code": view.code, "product": view.product["name"][:20], "batch": view.batch["code"][:20],
            "status": status}


async def sms_inbound(messages: list[dict]) -> int:
    """Answer each new inbound SMS once (by the provider's sequence id) through send_notice."""
    s = runtime.settings()
    answered = 0
    for m in messages:
        if not re.match(r"^1[3-9]\d{9}$", m["phone"]):
            continue
        found = re.search(r"[0-9A-Za-z][0-9A-Za-z\- ]{10,20}", m["content"])
        code = codes.normalize(found.group(0)) if found else None
        try:
            row = await TraceSmsInbound.create(message_id=m["id"], phone=m["phone"], content=m["content"],
                                               code=code or "")
        except IntegrityError:
            row = await TraceSmsInbound.get(message_id=m["id"])
            if row.answered_at is not None:
                continue  # a redelivered push: answered already
        try:
            await kr.hit_limit("trace_sms", m["phone"], s.trace_sms_answers_per_phone_per_hour, 3600)
        except RateLimited:
            continue
        view = None
        if code:
            try:
                view = await lookup(code, channel="sms")
            except NotFound:
                view = None
        await sms.send_notice(m["phone"], s.aliyun_sms_trace_template_code,
                              _sms_answer(view, code or m["content"].strip()), f"trace-sms-{row.id}")
        await TraceSmsInbound.filter(id=row.id).update(answered_at=clock.now())
        answered += 1
    return answered


def client_ip(request: Any) -> str:
    """The client's address as Sanic resolved it (forwarded headers only through configured proxies)."""
    return request.remote_addr or request.ip or ""
