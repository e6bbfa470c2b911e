"""Bank transfer batches: the xlsx in the configured column template, the bank's result file imported
back line by line, and result files that are refused whole (unknown rows, wrong amounts, unknown
status words) with nothing moved."""
import io

import pytest
from openpyxl import Workbook, load_workbook

from server.models.ledger import LedgerEntry
from server.models.payouts import PayoutBatch, PayoutLine
from server.payouts import service as payouts
from tests.conftest import login_as
from tests.payouts.helpers import CONSOLE, merchant_payee, prepare

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture
async def checker(client):
    return await login_as(client, "admin")


def rows_of(content: bytes) -> list[list]:
    return [list(r) for r in load_workbook(io.BytesIO(content)).active.iter_rows(values_only=True)]


def result_file(rows: list[list]) -> bytes:
    wb = Workbook()
    for r in rows:
        wb.active.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


async def upload(admin, batch_id: int, content: bytes):
    return await admin.post(f"{CONSOLE}/payout-batches/{batch_id}/result",
                            files={"file": ("result.xlsx", content, XLSX)})


async def bank_batch(client, admin, checker, amounts: list[int]):
    payees = [await merchant_payee(client, admin, checker, method="bank", settled_fen=a + 1000, real_name="王五")
              for a in amounts]
    items = [{"account_type": "merchant", "account_id": m.id, "amount_fen": a} for (m, _, _), a in zip(payees, amounts)]
    r = await prepare(admin, "bank", items)
    assert r.status_code == 201, r.text
    batch = r.json()
    assert (await admin.get(f"{CONSOLE}/payout-batches/{batch['id']}/xlsx")).status_code == 409  # not approved
    assert (await checker.post(f"{CONSOLE}/payout-batches/{batch['id']}/approve", json={})).status_code == 200
    return batch, [m for m, _, _ in payees]


async def test_a_bank_batch_goes_out_as_xlsx_and_its_result_comes_back(client, admin, checker, settings):
    batch, merchants = await bank_batch(client, admin, checker, [123456, 5000])
    r = await admin.get(f"{CONSOLE}/payout-batches/{batch['id']}/xlsx")
    assert r.status_code == 200 and r.headers["content-type"] == XLSX
    rows = rows_of(r.content)
    assert rows[0] == ["户名", "账号", "开户行", "支行", "金额(元)", "备注"]
    lines = {x["id"]: await PayoutLine.get(id=x["id"]) for x in batch["lines"]}
    by_bill = {x.out_bill_no: x for x in lines.values()}
    assert [r[4] for r in rows[1:]] == ["1234.56", "50.00"]  # yuan, two decimals
    assert all(r[0] == "王五" and r[3] == "喀左支行" and r[1] == by_bill[r[5]].bank_account for r in rows[1:])
    assert (await PayoutBatch.get(id=batch["id"])).exported_at is not None
    # the bank pays the first and returns the second
    result = [rows[0] + ["状态", "说明"], rows[1] + ["成功", ""], rows[2] + ["失败", "户名与账号不符"]]
    r = await upload(admin, batch["id"], result_file(result))
    assert r.status_code == 200, r.text
    assert (r.json()["succeeded"], r.json()["failed"], r.json()["unchanged"]) == (1, 1, 0)
    paid, returned = by_bill[rows[1][5]], by_bill[rows[2][5]]
    assert (await PayoutLine.get(id=paid.id)).status == "succeeded"
    failed = await PayoutLine.get(id=returned.id)
    assert failed.status == "failed" and failed.fail_reason == "户名与账号不符"
    assert (await LedgerEntry.get(ref_kind="payout_line", ref_id=paid.id)).amount_fen == -123456
    assert not await LedgerEntry.filter(ref_kind="payout_line", ref_id=returned.id).exists()
    assert (await payouts.balance("merchant", returned.account_id)).available_fen == 6000  # back in the balance
    assert (await payouts.balance("merchant", paid.account_id)).available_fen == 1000
    assert (await PayoutBatch.get(id=batch["id"])).status == "done"
    # the same file again: nothing changes
    again = await upload(admin, batch["id"], result_file(result))
    assert again.status_code == 200 and again.json()["unchanged"] == 2
    assert await LedgerEntry.filter(ref_kind="payout_line", ref_id=paid.id).count() == 1
    # the other outcome for a final line is refused
    flipped = [result[0], rows[1] + ["失败", "x"]]
    assert (await upload(admin, batch["id"], result_file(flipped))).status_code == 422


@pytest.mark.parametrize("case", ["unknown_row", "wrong_amount", "unknown_status", "other_account", "twice",
                                  "missing_column", "not_xlsx"])
async def test_a_bad_result_file_is_refused_whole_and_moves_nothing(client, admin, checker, case):
    batch, _ = await bank_batch(client, admin, checker, [2000, 3000])
    rows = rows_of((await admin.get(f"{CONSOLE}/payout-batches/{batch['id']}/xlsx")).content)
    head = rows[0] + ["状态", "说明"]
    good = rows[1] + ["成功", ""]
    bad = {"unknown_row": rows[2][:5] + ["KZP20260101FFFFFFFFFFFFFFFF", "成功", ""],
           "wrong_amount": rows[2][:4] + ["30.01", rows[2][5], "成功", ""],
           "unknown_status": rows[2] + ["处理中", ""],
           "other_account": [rows[2][0], "6222000000000000"] + rows[2][2:] + ["成功", ""],
           "twice": rows[1] + ["成功", ""]}.get(case)
    content = {"missing_column": result_file([rows[0] + ["说明"], rows[1] + [""]]),
               "not_xlsx": b"name,account\n"}.get(case) or result_file([head, good, bad])
    r = await upload(admin, batch["id"], content)
    assert r.status_code == 422, r.text
    err = r.json()["error"]
    assert err["details"] and err["message"]
    if case in ("unknown_row", "wrong_amount", "unknown_status", "other_account", "twice"):
        assert err["code"] == "bad_result_file" and err["details"][0]["row"] == 3
    statuses = await PayoutLine.filter(batch_id=batch["id"]).values_list("status", flat=True)
    assert set(statuses) == {"processing"}  # nothing moved, the good row either
    assert not await LedgerEntry.filter(ref_kind="payout_line",
                                        ref_id__in=[x["id"] for x in batch["lines"]]).exists()


async def test_a_result_file_for_a_wechat_batch_or_an_unknown_batch_is_refused(client, admin, checker):
    m, _, _ = await merchant_payee(client, admin, checker, settled_fen=900)
    batch = (await prepare(admin, "wechat", [{"account_type": "merchant", "account_id": m.id}])).json()
    assert (await upload(admin, batch["id"], result_file([["x"]]))).status_code == 409
    assert (await upload(admin, 987654321, result_file([["x"]]))).status_code == 404
    await checker.post(f"{CONSOLE}/payout-batches/{batch['id']}/reject", json={})
