"""First-mile collection (村级揽收 → 乡镇 → 县仓, 农产品上行): a station collects a household's or
cooperative's produce (the merchant it sells for, 代卖), the goods travel up village → town → county
with a scan at every hop, and the county warehouse receives them as sellable stock."""
from tortoise import fields
from tortoise.models import Model


class CollectionStatus:
    AT_STATION = "at_station"    # at a station on its way up (the village station right after collection)
    IN_TRANSIT = "in_transit"    # between two stations
    ARRIVED = "arrived"          # at the county warehouse, waiting to be received
    RECEIVED = "received"        # received against the collection: sellable stock

    ALL = (AT_STATION, IN_TRANSIT, ARRIVED, RECEIVED)


class Collection(Model):
    """One collection (揽收单) from one producer of one SKU. Its position on `route` (the collecting
    station first, the county warehouse last) and `moving` say where it is; every change comes from a
    scan guarded by `version` (optimistic lock), as for parcels."""
    id = fields.BigIntField(primary_key=True)
    label = fields.CharField(24, unique=True)  # printed as QR, scanned at every hop
    station = fields.ForeignKeyField("models.Station", related_name=False, on_delete=fields.RESTRICT)
    town_station = fields.ForeignKeyField("models.Station", null=True, related_name=False,
                                          on_delete=fields.RESTRICT)
    # where it was collected, as the statistics count it (kept as collected)
    town = fields.CharField(32, default="", db_index=True)
    village = fields.CharField(32, default="")
    is_poor_village = fields.BooleanField(default=False)
    merchant = fields.ForeignKeyField("models.Merchant", related_name=False, on_delete=fields.RESTRICT)
    product = fields.ForeignKeyField("models.Product", related_name=False, on_delete=fields.RESTRICT)
    sku = fields.ForeignKeyField("models.Sku", related_name=False, on_delete=fields.RESTRICT)
    batch = fields.ForeignKeyField("models.Batch", related_name=False, on_delete=fields.RESTRICT)
    new_batch = fields.BooleanField(default=True)  # this collection opened the batch
    quantity = fields.IntField()            # SKU units collected
    weight_g = fields.IntField()            # their weight
    unit_price_fen = fields.IntField()      # the SKU's price when collected: the value the figures count
    value_fen = fields.BigIntField()
    grade = fields.CharField(12)            # premium | first | second | standard (特级/一级/二级/统货)
    photos = fields.JSONField(default=list)  # media keys
    cold_chain = fields.BooleanField(default=False)  # 冷链
    note = fields.CharField(200, default="")
    status = fields.CharField(12, default=CollectionStatus.AT_STATION, db_index=True)
    route = fields.JSONField(default=list)  # station ids: the collecting station ... the county warehouse
    position = fields.IntField(default=0)
    moving = fields.BooleanField(default=False)
    version = fields.IntField(default=0)
    # promises (时效承诺): reach the town within the town-village hours, the county the same day
    town_due_at = fields.DatetimeField(null=True)
    town_met_at = fields.DatetimeField(null=True)
    county_due_at = fields.DatetimeField(null=True)
    county_met_at = fields.DatetimeField(null=True)
    received_qty = fields.IntField(null=True)
    difference_reason = fields.CharField(200, default="")
    received_by = fields.ForeignKeyField("models.User", null=True, related_name=False, on_delete=fields.SET_NULL)
    received_at = fields.DatetimeField(null=True)
    created_by = fields.ForeignKeyField("models.User", null=True, related_name=False, on_delete=fields.SET_NULL)
    created_at = fields.DatetimeField(db_index=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "collections"
        indexes = (("station_id", "id"), ("merchant_id", "id"), ("batch_id",))


class CollectionScan(Model):
    """One hop of a collection (转运记录): append-only; scan_key makes the same scan twice one event."""
    id = fields.BigIntField(primary_key=True)
    collection = fields.ForeignKeyField("models.Collection", related_name="scans", on_delete=fields.CASCADE)
    kind = fields.CharField(20)  # collected | dispatched | arrived | received
    station = fields.ForeignKeyField("models.Station", null=True, related_name=False, on_delete=fields.RESTRICT)
    actor = fields.ForeignKeyField("models.User", null=True, related_name=False, on_delete=fields.SET_NULL)
    scan_key = fields.CharField(96, unique=True)
    data = fields.JSONField(default=dict)
    at = fields.DatetimeField()

    class Meta:
        table = "collection_scans"
        indexes = (("collection_id", "id"),)
