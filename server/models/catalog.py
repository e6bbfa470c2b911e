from tortoise import fields
from tortoise.models import Model


class Category(Model):
    """Category tree: 陈醋, 紫砂, 杂粮, 果蔬, 民俗文旅 and their children."""
    id = fields.BigIntField(primary_key=True)
    name = fields.CharField(32)
    slug = fields.CharField(32, unique=True)
    parent = fields.ForeignKeyField("models.Category", null=True, related_name="children",
                                    on_delete=fields.RESTRICT)
    sort = fields.IntField(default=0)
    is_farm_product = fields.BooleanField(default=False)  # 农产品 (for the county statistics)
    # Hidden: left out of the storefront's category tree and home (its products stay findable).
    hidden = fields.BooleanField(default=False)

    class Meta:
        table = "categories"


class Brand(Model):
    """A regional public brand (区域公共品牌), as data the county office keeps: products carry its code."""
    id = fields.BigIntField(primary_key=True)
    code = fields.CharField(16, unique=True)
    name = fields.CharField(32)
    sort = fields.IntField(default=0)
    # Hidden: not offered for new products nor shown on the home page (existing products keep it).
    hidden = fields.BooleanField(default=False)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "brands"


class Product(Model):
    """A product (SPU). Visible to consumers only when on_sale and its merchant is active."""
    id = fields.BigIntField(primary_key=True)
    merchant = fields.ForeignKeyField("models.Merchant", related_name="products", on_delete=fields.RESTRICT)
    category = fields.ForeignKeyField("models.Category", related_name="products", on_delete=fields.RESTRICT)
    name = fields.CharField(64)
    subtitle = fields.CharField(128, default="")
    description = fields.TextField(default="")
    images = fields.JSONField(default=list)
    origin_town = fields.CharField(32, default="", db_index=True)
    origin_village = fields.CharField(32, default="")
    # Regional public brand (区域公共品牌): "" | kazuo_zisha | kazuo_vinegar | kazuo_grains
    brand = fields.CharField(16, default="", db_index=True)
    # draft -> pending -> on_sale | rejected -> off_shelf
    status = fields.CharField(16, default="draft", db_index=True)
    min_price = fields.IntField(default=0)  # fen; the cheapest active SKU, for sorting and filters
    sales = fields.IntField(default=0)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)
    published_at = fields.DatetimeField(null=True)
    # Denormalised "status == on_sale and merchant active": the one flag every consumer query filters
    # on, so the listing indexes below stay selective at 100,000 products.
    visible = fields.BooleanField(default=False)
    # Lower-cased name, subtitle, category, brand label, origin and merchant name: substring search
    # (LIKE) that works the same on SQLite and PostgreSQL.
    search_text = fields.TextField(default="")
    reject_reason = fields.CharField(500, default="")      # last review rejection, shown to the merchant
    takedown_reason = fields.CharField(500, default="")    # 监管下架: shown to the merchant
    taken_down_at = fields.DatetimeField(null=True)
    # An on-sale product with a change waiting for review (the approved version stays on sale).
    pending_revision = fields.BooleanField(default=False)
    # Buyers' ratings (#30, server/reviews): the mean product stars of the shown reviews x100
    # (0 = none yet) and their count, kept by the reviews service for the "rating" sort and cards.
    rating = fields.IntField(default=0)
    rating_count = fields.IntField(default=0)

    class Meta:
        table = "products"
        indexes = (("visible", "category_id", "id"), ("visible", "id"), ("visible", "min_price", "id"),
                   ("visible", "sales", "id"), ("visible", "category_id", "min_price", "id"),
                   ("visible", "category_id", "sales", "id"), ("merchant_id", "status", "id"),
                   ("visible", "merchant_id", "id"),
                   ("visible", "rating", "id"))  # the rating sort (#30)


class Certification(Model):
    """三品一标 and licences: pollution_free | green | organic | geo_indication | sc_licence."""
    id = fields.BigIntField(primary_key=True)
    product = fields.ForeignKeyField("models.Product", related_name="certifications", on_delete=fields.CASCADE)
    kind = fields.CharField(24)
    number = fields.CharField(64)
    issuer = fields.CharField(64, default="")
    expires_on = fields.DateField(null=True)  # expired certificates are not shown to consumers

    class Meta:
        table = "certifications"
        # Tortoise creates no index for a foreign key: the detail page and the cert filter need these.
        indexes = (("product_id",), ("kind", "expires_on", "product_id"))


class Sku(Model):
    """A sellable variant. stock = sellable now; reserved = held by orders not yet shipped."""
    id = fields.BigIntField(primary_key=True)
    product = fields.ForeignKeyField("models.Product", related_name="skus", on_delete=fields.CASCADE)
    spec = fields.CharField(32)  # 500g / 2.5kg / 礼盒
    price = fields.IntField()  # fen
    list_price = fields.IntField()  # fen
    stock = fields.IntField(default=0)
    reserved = fields.IntField(default=0)
    weight_g = fields.IntField(default=0)
    cold_chain = fields.BooleanField(default=False)
    is_active = fields.BooleanField(default=True)
    sales = fields.IntField(default=0)
    created_at = fields.DatetimeField(auto_now_add=True, null=True)

    class Meta:
        table = "skus"
        # Listing pages sum the stock of each page's products: without it, a scan of every SKU.
        indexes = (("product_id", "is_active"),)
