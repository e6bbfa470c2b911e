"""Notifications (订阅消息与短信): one outbox row per moment and subject (exactly once), the buyer's
subscribe choices as the mini-program reported them, and live-preview bookings (直播预约)."""
from tortoise import fields
from tortoise.models import Model


class OutboxStatus:
    PENDING = "pending"    # written with the business change; a job delivers it after commit
    SENDING = "sending"    # claimed by a delivery (a crashed one is re-found by the sweeper)
    DONE = "done"          # delivered as far as it goes (see wechat / sms for what happened)
    FAILED = "failed"      # gave up after MAX_ATTEMPTS (error says why)

    ALL = (PENDING, SENDING, DONE, FAILED)


class NotifyOutbox(Model):
    """A message owed to a buyer at one moment of one subject (an order, a refund outcome, a live
    booking). (moment, ref) is unique: a moment is sent at most once per subject, however often the
    business change or its job runs."""
    id = fields.BigIntField(primary_key=True)
    moment = fields.CharField(32)
    ref = fields.CharField(64)  # the subject: "order:12", "refund:7:succeeded", "booking:3"
    user_id = fields.BigIntField(db_index=True)
    order_id = fields.BigIntField(null=True, db_index=True)
    status = fields.CharField(12, default=OutboxStatus.PENDING, db_index=True)
    # sent | refused (WeChat 43101) | unsubscribed (the buyer declined the template) | no_openid | ""
    wechat = fields.CharField(16, default="")
    sms = fields.CharField(16, default="")  # sent | none (no phone) | "" (not needed)
    attempts = fields.IntField(default=0)
    error = fields.CharField(200, default="")
    created_at = fields.DatetimeField(auto_now_add=True, db_index=True)
    claimed_at = fields.DatetimeField(null=True)
    done_at = fields.DatetimeField(null=True)

    class Meta:
        table = "notify_outbox"
        unique_together = (("moment", "ref"),)


class SubscribeChoice(Model):
    """What a buyer answered wx.requestSubscribeMessage for one template: each "accept" allows one
    message (a one-time subscription); "reject"/"ban" means do not send (and, where the buyer must
    act, reach them by SMS instead)."""
    id = fields.BigIntField(primary_key=True)
    user_id = fields.BigIntField()
    template_id = fields.CharField(64)
    accepted = fields.IntField(default=0)      # acceptances not yet used by a message
    declined = fields.BooleanField(default=False)  # the last answer was reject or ban
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "notify_subscribe_choices"
        unique_together = (("user_id", "template_id"),)


class LiveBooking(Model):
    """A buyer booked a live preview (直播预告预约): remind them once when the session is about to start."""
    id = fields.BigIntField(primary_key=True)
    session_id = fields.BigIntField(db_index=True)
    user_id = fields.BigIntField(db_index=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    cancelled_at = fields.DatetimeField(null=True)
    reminded_at = fields.DatetimeField(null=True, db_index=True)  # the reminder was put in the outbox

    class Meta:
        table = "notify_live_bookings"
        unique_together = (("session_id", "user_id"),)
