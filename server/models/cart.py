from tortoise import fields
from tortoise.models import Model


class CartItem(Model):
    """A line in a buyer's cart (购物车): only the SKU and quantity; prices are always recomputed."""
    id = fields.BigIntField(primary_key=True)
    user = fields.ForeignKeyField("models.User", related_name="cart_items", on_delete=fields.CASCADE)
    sku = fields.ForeignKeyField("models.Sku", related_name="cart_items", on_delete=fields.CASCADE)
    quantity = fields.IntField()
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "cart_items"
        unique_together = (("user", "sku"),)
