"""Livestream commerce (直播带货): rooms, sessions (直播场次), product tie-ins with live price and
quota, Aliyun stream callbacks, stored figures and the livestreamer (主播) profile."""
from tortoise import fields
from tortoise.models import Model


class SessionStatus:
    """Session states; every transition is a guarded update from the expected state."""
    SCHEDULED = "scheduled"  # 预告
    LIVE = "live"            # 直播中
    ENDED = "ended"          # 已结束
    CANCELLED = "cancelled"  # 已取消 (never went live)

    ALL = (SCHEDULED, LIVE, ENDED, CANCELLED)


class LivestreamerProfile(Model):
    """A livestreamer (主播): display data and the link to their trainee record (学员档案)."""
    id = fields.BigIntField(primary_key=True)
    user = fields.OneToOneField("models.User", related_name="livestreamer_profile", on_delete=fields.CASCADE)
    display_name = fields.CharField(32)
    avatar = fields.CharField(300, default="")
    bio = fields.CharField(500, default="")
    # Graduates of the county's incubation base (孵化基地): the training capability tracks outcomes
    # through this id (a plain id: training's models are not ours to import).
    trainee_id = fields.BigIntField(null=True, db_index=True)
    incubation_base = fields.BooleanField(default=False)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "live_livestreamers"


class LiveRoom(Model):
    """A livestreamer's room (直播间), optionally run on behalf of a merchant or the incubation base."""
    id = fields.BigIntField(primary_key=True)
    owner = fields.ForeignKeyField("models.User", related_name="live_rooms", on_delete=fields.RESTRICT)
    title = fields.CharField(64)
    # self | merchant | incubation_base
    on_behalf = fields.CharField(16, default="self")
    merchant = fields.ForeignKeyField("models.Merchant", null=True, related_name="live_rooms",
                                      on_delete=fields.RESTRICT)
    default_commission_bp = fields.IntField(default=0)
    is_active = fields.BooleanField(default=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "live_rooms"


class LiveSession(Model):
    """A scheduled broadcast (直播场次). Its stream name is unique so Aliyun callbacks find it."""
    id = fields.BigIntField(primary_key=True)
    room = fields.ForeignKeyField("models.LiveRoom", related_name="sessions", on_delete=fields.RESTRICT)
    livestreamer = fields.ForeignKeyField("models.User", related_name="live_sessions",
                                          on_delete=fields.RESTRICT)
    merchant_id = fields.BigIntField(null=True, db_index=True)  # copied from the room
    title = fields.CharField(64)
    cover = fields.CharField(300, default="")
    scheduled_at = fields.DatetimeField(db_index=True)
    status = fields.CharField(16, default=SessionStatus.SCHEDULED, db_index=True)
    stream_name = fields.CharField(64, unique=True)
    commission_bp = fields.IntField(default=0)
    on_air_tiein_id = fields.BigIntField(null=True)  # 讲解中商品
    started_at = fields.DatetimeField(null=True)
    ended_at = fields.DatetimeField(null=True, db_index=True)
    # What ended it: host | stream (publish_done) | reconcile (online list) | admin
    ended_by = fields.CharField(16, default="")
    # Aliyun event time of the newest stream callback applied: older ones never undo newer ones.
    last_stream_event_at = fields.DatetimeField(null=True)
    # Remaining quotas went back to the shelf (session end, done once).
    quota_returned = fields.BooleanField(default=False)
    version = fields.IntField(default=0)  # bumped on every viewer-visible change
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "live_sessions"


class LiveTieIn(Model):
    """A SKU sold in a session at a live price with a quota set aside from sellable stock."""
    id = fields.BigIntField(primary_key=True)
    session = fields.ForeignKeyField("models.LiveSession", related_name="tieins", on_delete=fields.CASCADE)
    sku = fields.ForeignKeyField("models.Sku", related_name="live_tieins", on_delete=fields.RESTRICT)
    product_id = fields.BigIntField()
    merchant_id = fields.BigIntField(db_index=True)
    live_price = fields.IntField()  # fen, never above the SKU's list price
    # Both written only by server/inventory (to_live when attached or topped up, the live take, ...).
    quota = fields.IntField(default=0)      # units taken from Sku.stock when attached (or topped up)
    remaining = fields.IntField(default=0)  # unsold part of the quota (the truth the Lua gate mirrors)
    sold = fields.IntField(default=0)
    per_buyer_limit = fields.IntField(default=5)
    commission_bp = fields.IntField(null=True)  # per-product rate; null = the session's rate
    sort = fields.IntField(default=0)
    is_active = fields.BooleanField(default=True)  # detached tie-ins stay for history
    returned = fields.IntField(default=0)  # units given back to the shelf
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "live_tieins"
        unique_together = (("session", "sku"),)


class LivePurchase(Model):
    """Units a buyer holds from one tie-in (placed, not cancelled): the per-buyer limit's truth."""
    id = fields.BigIntField(primary_key=True)
    tiein = fields.ForeignKeyField("models.LiveTieIn", related_name="purchases", on_delete=fields.CASCADE)
    buyer_id = fields.BigIntField()
    quantity = fields.IntField(default=0)

    class Meta:
        table = "live_purchases"
        unique_together = (("tiein", "buyer_id"),)


class LiveStreamEvent(Model):
    """An Aliyun publish/publish_done callback, stored once (keyed by its content) before it is applied."""
    id = fields.BigIntField(primary_key=True)
    event_key = fields.CharField(160, unique=True)
    action = fields.CharField(16)
    stream_name = fields.CharField(64, db_index=True)
    app_name = fields.CharField(64, default="")
    event_at = fields.DatetimeField()
    session_id = fields.BigIntField(null=True)
    outcome = fields.CharField(32, default="")
    received_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "live_stream_events"


class LiveSessionFigures(Model):
    """Figures of an ended session, copied from Redis when it ends (实时数据 → 场次数据)."""
    id = fields.BigIntField(primary_key=True)
    session = fields.OneToOneField("models.LiveSession", related_name="figures", on_delete=fields.CASCADE)
    viewers = fields.IntField(default=0)       # distinct viewers
    peak_viewers = fields.IntField(default=0)  # most concurrent websocket viewers
    orders = fields.IntField(default=0)
    buyers = fields.IntField(default=0)
    units = fields.IntField(default=0)
    gmv_fen = fields.BigIntField(default=0)
    cancelled_units = fields.IntField(default=0)
    conversion_bp = fields.IntField(default=0)  # buyers / viewers in basis points
    per_product = fields.JSONField(default=list)  # [{tiein_id, sku_id, merchant_id, orders, units, gmv_fen}]
    stored_at = fields.DatetimeField()

    class Meta:
        table = "live_session_figures"
