import csv
import io
import zipfile

from PIL import Image

from server.kit import clock
from tests.training.helpers import enrolled, make_course, make_session, qr

BASE = "/api/v1/console/training"
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (8, 6), (200, 30, 30)).save(buf, "PNG")
    return buf.getvalue()


async def upload(admin, session_id, kind, data, name):
    return await admin.post(f"{BASE}/sessions/{session_id}/files", data={"kind": kind},
                            files={"file": (name, data, "application/octet-stream")})


async def test_archive_completeness_and_zip_export(client, admin):
    course = await make_course(admin, name="档案班")
    s = await make_session(admin, course["id"])
    sid = s["id"]
    rows = {r["session_id"]: r for r in (await admin.get(f"{BASE}/archive/completeness")).json()}
    assert rows[sid]["missing"] == ["plan", "notice", "syllabus", "material", "signin_sheet", "photo"]
    for kind, data, name in (("plan", PDF, "培训方案.pdf"), ("notice", PDF, "通知.pdf"),
                             ("syllabus", PDF, "课程表.pdf"), ("photo", png(), "现场.png")):
        r = await upload(admin, sid, kind, data, name)
        assert r.status_code == 201, r.text
        assert r.json()["kind"] == kind and r.json()["url"].endswith((".pdf", ".png"))
    trainee = await enrolled(client, admin, sid, name="张三", phone="13900000002")
    r = await trainee.post("/api/v1/training/signin", json={"payload": await qr(admin, sid)})
    assert r.status_code == 201
    rows = {r["session_id"]: r for r in (await admin.get(f"{BASE}/archive/completeness",
                                                         params={"incomplete_only": "true"})).json()}
    assert rows[sid]["missing"] == ["material"] and rows[sid]["complete"] is False
    r = await upload(admin, sid, "material", PDF + b"% material\n", "讲义.pdf")
    assert r.status_code == 201
    rows = {r["session_id"]: r for r in (await admin.get(f"{BASE}/archive/completeness")).json()}
    assert rows[sid]["complete"] is True
    incomplete = (await admin.get(f"{BASE}/archive/completeness", params={"incomplete_only": "true"})).json()
    assert sid not in [r["session_id"] for r in incomplete]

    r = await admin.get(f"{BASE}/sessions/{sid}/archive.zip")
    assert r.status_code == 200 and r.headers["content-type"] == "application/zip"
    zf = zipfile.ZipFile(io.BytesIO(r.content))
    names = zf.namelist()
    assert "signin_sheet.csv" in names and "manifest.csv" in names
    assert sum(n.startswith("photo/") for n in names) == 1 and sum(n.startswith("plan/") for n in names) == 1
    plan = next(n for n in names if n.startswith("plan/"))
    assert zf.read(plan) == PDF and plan.endswith("培训方案.pdf")
    sheet = list(csv.reader(io.StringIO(zf.read("signin_sheet.csv").decode("utf-8-sig"))))
    assert sheet[1][1] == "张三" and sheet[1][2] == "13900000002" and sheet[1][6] == "qr"
    assert sheet[1][5] == str(clock.local_today())


async def test_uploads_are_checked_by_content(client, admin, consumer):
    course = await make_course(admin)
    s = await make_session(admin, course["id"])
    sid = s["id"]
    r = await upload(admin, sid, "photo", PDF, "photo.jpg")  # a PDF named .jpg is not a photo
    assert r.status_code == 422 and r.json()["error"]["details"][0]["field"] == "file"
    r = await upload(admin, sid, "plan", b"MZ\x90\x00 not a document", "plan.pdf")
    assert r.status_code == 422
    r = await upload(admin, sid, "diary", PDF, "x.pdf")
    assert r.status_code == 422 and r.json()["error"]["details"][0]["field"] == "kind"
    r = await admin.post(f"{BASE}/sessions/{sid}/files", data={"kind": "plan"})
    assert r.status_code == 422 and r.json()["error"]["details"][0]["field"] == "file"
    r = await upload(admin, 999999999, "plan", PDF, "x.pdf")
    assert r.status_code == 404
    assert (await upload(consumer, sid, "plan", PDF, "x.pdf")).status_code == 403
    assert (await admin.get(f"{BASE}/sessions/{sid}")).json()["files"] == []
    # removal: the file leaves the session and the archive
    r = await upload(admin, sid, "slides", PDF + b"%slides", "课件.pdf")
    fid = r.json()["id"]
    assert (await admin.delete(f"{BASE}/sessions/{sid}/files/{fid}")).status_code == 204
    assert (await admin.delete(f"{BASE}/sessions/{sid}/files/{fid}")).status_code == 404
    assert (await admin.get(f"{BASE}/sessions/{sid}")).json()["files"] == []
    assert (await admin.get(f"{BASE}/sessions/999999999/archive.zip")).status_code == 404


async def test_archive_csv_cells_never_start_a_formula(client, admin):
    """A trainee's name or a file's original name beginning with =, +, - or @ is written with a leading
    apostrophe in signin_sheet.csv and manifest.csv (the statistics exports' rule, server.kit.sheets)."""
    course = await make_course(admin, name="公式班")
    sid = (await make_session(admin, course["id"]))["id"]
    assert (await upload(admin, sid, "plan", PDF, "=HYPERLINK(\"x\").pdf")).status_code == 201
    assert (await upload(admin, sid, "notice", PDF + b"%n\n", "@SUM(A1).pdf")).status_code == 201
    trainee = await enrolled(client, admin, sid, name="=1+2", phone="13900000003")
    r = await trainee.post("/api/v1/training/signin", json={"payload": await qr(admin, sid)})
    assert r.status_code == 201, r.text
    r = await admin.get(f"{BASE}/sessions/{sid}/archive.zip")
    zf = zipfile.ZipFile(io.BytesIO(r.content))
    sheet = list(csv.reader(io.StringIO(zf.read("signin_sheet.csv").decode("utf-8-sig"))))
    assert sheet[1][1] == "'=1+2"
    manifest = list(csv.reader(io.StringIO(zf.read("manifest.csv").decode("utf-8-sig"))))
    originals = {row[0]: row[2] for row in manifest[1:]}
    assert originals == {"plan": "'=HYPERLINK(\"x\").pdf", "notice": "'@SUM(A1).pdf"}
    for row in sheet + manifest:
        assert not any(c[:1] in "=+-@" and c for c in row), row
