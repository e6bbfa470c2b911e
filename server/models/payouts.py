from tortoise import fields
from tortoise.models import Model


class PayeeMethod:
    WECHAT = "wechat"  # 商家转账 to the payee's WeChat balance (an openid under our appid)
    BANK = "bank"      # a line of a bank transfer batch (xlsx out, the bank's result file back)
    ALL = (WECHAT, BANK)


class Payee(Model):
    """A payee's details in force (收款信息): one row per merchant, station or livestreamer, written
    only by an approved PayeeChange. Its row is also the lock that serialises that payee's payouts."""
    id = fields.BigIntField(primary_key=True)
    account_type = fields.CharField(16)  # merchant | station | livestreamer (as ledger accounts)
    account_id = fields.BigIntField()
    method = fields.CharField(8)
    openid = fields.CharField(64, default="")
    real_name = fields.CharField(64, default="")  # the bank account's name; WeChat's real name from ¥2,000
    bank_account = fields.CharField(40, default="")
    bank_name = fields.CharField(64, default="")
    bank_branch = fields.CharField(64, default="")
    change_id = fields.BigIntField(null=True)  # the approved change now in force
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "payees"
        unique_together = (("account_type", "account_id"),)


class PayeeChange(Model):
    """A requested change of payee details (maker–checker): pending until a second office user
    approves it (never the one who asked); a newer request supersedes a pending one."""
    id = fields.BigIntField(primary_key=True)
    account_type = fields.CharField(16)
    account_id = fields.BigIntField()
    method = fields.CharField(8)
    openid = fields.CharField(64, default="")
    real_name = fields.CharField(64, default="")
    bank_account = fields.CharField(40, default="")
    bank_name = fields.CharField(64, default="")
    bank_branch = fields.CharField(64, default="")
    status = fields.CharField(12, default="pending", db_index=True)  # pending | approved | rejected | superseded
    requested_by = fields.BigIntField()
    requested_via = fields.CharField(8)  # office | payee
    decided_by = fields.BigIntField(null=True)
    decided_at = fields.DatetimeField(null=True)
    note = fields.CharField(200, default="")
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "payee_changes"
        indexes = (("account_type", "account_id"),)


class PayoutBatch(Model):
    """A payout batch (打款批次): prepared by one office user, approved by another (maker–checker)."""
    id = fields.BigIntField(primary_key=True)
    method = fields.CharField(8)
    status = fields.CharField(12, default="prepared", db_index=True)  # prepared | approved | rejected | done
    prepared_by = fields.BigIntField()
    decided_by = fields.BigIntField(null=True)
    decided_at = fields.DatetimeField(null=True)
    note = fields.CharField(200, default="")
    total_fen = fields.BigIntField(default=0)
    line_count = fields.IntField(default=0)
    exported_at = fields.DatetimeField(null=True)
    result_imported_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "payout_batches"


class PayoutLine(Model):
    """One payee's payout in a batch, with the payee details as they were when it was prepared.
    reserved (batch prepared) -> processing (approved: sent to WeChat / in the bank file) ->
    succeeded | failed; cancelled when the batch is rejected. Reserved and processing lines hold
    their amount out of the payee's balance; a failed or cancelled one gives it back."""
    id = fields.BigIntField(primary_key=True)
    batch = fields.ForeignKeyField("models.PayoutBatch", related_name="lines", on_delete=fields.RESTRICT,
                                   db_index=True)
    account_type = fields.CharField(16)
    account_id = fields.BigIntField()
    amount_fen = fields.BigIntField()
    method = fields.CharField(8)
    payee_name = fields.CharField(64, default="")
    openid = fields.CharField(64, default="")
    bank_account = fields.CharField(40, default="")
    bank_name = fields.CharField(64, default="")
    bank_branch = fields.CharField(64, default="")
    status = fields.CharField(12, default="reserved", db_index=True)
    out_bill_no = fields.CharField(32, unique=True)  # our number at WeChat and in the bank file's remark
    transfer_bill_no = fields.CharField(64, default="")
    wechat_state = fields.CharField(24, default="")
    package_info = fields.TextField(default="")
    fail_reason = fields.CharField(200, default="")
    submitted_at = fields.DatetimeField(null=True)
    finished_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "payout_lines"
        indexes = (("account_type", "account_id"),)


class WithdrawalRequest(Model):
    """A payee's own request to be paid (提现申请). pending: its amount is held out of the balance (counted
    while the payee row is locked, like a batch line); cancelled: the payee withdrew it, the money is back;
    rejected: the office refused it (reason, shown to the payee), the money is back; batched: the office
    put it in a payout batch, whose line (batch_id + the payee) now holds the money, and a rejected or
    failed line gives it back to the balance."""
    id = fields.BigIntField(primary_key=True)
    account_type = fields.CharField(16)
    account_id = fields.BigIntField()
    amount_fen = fields.BigIntField()
    method = fields.CharField(8)  # the payee's method when asked
    status = fields.CharField(12, default="pending", db_index=True)  # pending | cancelled | rejected | batched
    requested_by = fields.BigIntField()
    note = fields.CharField(200, default="")
    reason = fields.CharField(200, default="")  # why the office rejected it (the payee reads it)
    decided_by = fields.BigIntField(null=True)  # the operator who rejected it
    batch_id = fields.BigIntField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    closed_at = fields.DatetimeField(null=True)

    class Meta:
        table = "withdrawal_requests"
        indexes = (("account_type", "account_id"),)
