"""The training archive (培训档案): what each session's record still lacks, and a zip export of one
session (the CSV sign-in sheet plus its files), built in a temporary file, never in memory."""
from __future__ import annotations

import asyncio
import csv
import io
import re
import tempfile
import zipfile
from typing import IO

from server.kit import clock, pools, sheets
from server.kit.errors import NotFound
from server.models.training import SessionFile, SignIn, TrainingSession
from server.training.schemas import ArchiveRow
from server.training.service import signin_sheet
from server.media import get_storage

# What every session's archive must hold (slides and video are kept when there are any).
REQUIRED = ("plan", "notice", "syllabus", "material", "signin_sheet", "photo")


async def completeness(*, incomplete_only: bool = False) -> list[ArchiveRow]:
    """Every session that is not cancelled, with the archive parts present and missing."""
    # side by side (files and sign-ins join their session): each sequential read is one more turn under load
    sessions, files, signed = await asyncio.gather(
        TrainingSession.exclude(status="cancelled").order_by("-starts_on", "-id").values(
            "id", "title", "starts_on", "ends_on"),
        SessionFile.exclude(session__status="cancelled").distinct().values_list("session_id", "kind"),
        SignIn.exclude(session__status="cancelled").distinct().values_list("session_id", flat=True))
    kinds: dict[int, set[str]] = {}
    for sid, kind in files:
        kinds.setdefault(sid, set()).add(kind)
    for sid in signed:
        kinds.setdefault(sid, set()).add("signin_sheet")
    today = clock.local_today()
    rows = []
    for s in sessions:
        have = kinds.get(s["id"], set())
        missing = [k for k in REQUIRED if k not in have]
        if incomplete_only and not missing:
            continue
        rows.append(ArchiveRow(session_id=s["id"], title=s["title"], starts_on=s["starts_on"],
                               ends_on=s["ends_on"], ended=s["ends_on"] < today,
                               present=sorted(have), missing=missing, complete=not missing))
    return rows


def _safe(name: str) -> str:
    name = re.sub(r"[\x00-\x1f\x7f/\\:*?\"<>|]", "_", name).strip(" .")
    return name[:100] or "file"


def sheet_csv(sheet) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["学员ID trainee_id", "姓名 name", "电话 phone", "乡镇 town", "村 village", "日期 day",
                "方式 method", "原因 reason", "签到时间 signed_at (Asia/Shanghai)"])
    for r in sheet.rows:
        w.writerow(sheets.row([r.trainee_id, r.name, r.phone, r.town, r.village, r.day.isoformat(), r.method,
                               r.reason, r.signed_at.astimezone(clock.SHANGHAI).strftime("%Y-%m-%d %H:%M:%S")]))
    return ("\ufeff" + buf.getvalue()).encode()


async def export_zip(session_id: int) -> tuple[IO[bytes], int, str]:
    """A session's archive as a zip in a temporary file: (file positioned at 0, size, download name)."""
    s = await TrainingSession.get_or_none(id=session_id)
    if s is None:
        raise NotFound("session not found")
    sheet = await signin_sheet(session_id)
    files = await SessionFile.filter(session_id=session_id).order_by("kind", "id")
    storage = get_storage()
    tmp = tempfile.SpooledTemporaryFile(max_size=8 * 2**20, prefix="kz-archive-")  # noqa: SIM115 - returned to the caller, who closes it
    zf = zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED)
    try:
        await pools.cpu(zf.writestr, "signin_sheet.csv", sheet_csv(sheet))
        manifest = io.StringIO()
        mw = csv.writer(manifest)
        mw.writerow(["kind", "path", "original filename", "content type", "size", "uploaded_at"])
        for f in files:
            ext = f.media_key.rsplit(".", 1)[-1]
            stem = _safe(f.filename.rsplit(".", 1)[0]) if f.filename else f.kind
            path = f"{f.kind}/{f.id}-{stem}.{ext}"
            try:
                data = await storage.open(f.media_key)
            except (FileNotFoundError, OSError):
                mw.writerow(sheets.row([f.kind, "(missing from storage)", f.filename, f.content_type, f.size,
                                        f.created_at.isoformat()]))
                continue
            # Media is already compressed (jpeg, mp4, docx): store, do not deflate again.
            await pools.cpu(zf.writestr, zipfile.ZipInfo(path, date_time=_zip_time(f.created_at)), data,
                            zipfile.ZIP_STORED)
            mw.writerow(sheets.row([f.kind, path, f.filename, f.content_type, f.size, f.created_at.isoformat()]))
        await pools.cpu(zf.writestr, "manifest.csv", ("\ufeff" + manifest.getvalue()).encode())
    finally:
        zf.close()
    size = tmp.tell()
    tmp.seek(0)
    return tmp, size, f"training-session-{s.id}-archive.zip"


def _zip_time(dt) -> tuple[int, int, int, int, int, int]:
    local = dt.astimezone(clock.SHANGHAI)
    return (max(local.year, 1980), local.month, local.day, local.hour, local.minute, local.second)
