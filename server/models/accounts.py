from tortoise import fields
from tortoise.models import Model


class User(Model):
    """A person: a WeChat user (openid) or a light account created by phone at a station (代购)."""
    id = fields.BigIntField(primary_key=True)
    openid = fields.CharField(64, unique=True, null=True)
    unionid = fields.CharField(64, null=True, db_index=True)
    # WeChat session_key: server-side only, never serialized to a client.
    session_key = fields.CharField(128, null=True)
    phone = fields.CharField(20, unique=True, null=True)
    phone_verified_at = fields.DatetimeField(null=True)
    nickname = fields.CharField(64, default="")
    is_active = fields.BooleanField(default=True)
    # Bumped to revoke every token issued before (logout everywhere, account disabled).
    token_version = fields.IntField(default=0)
    created_at = fields.DatetimeField(auto_now_add=True)
    last_login_at = fields.DatetimeField(null=True)

    class Meta:
        table = "users"


class RoleGrant(Model):
    """A role held by a user, optionally bound to a station or a merchant."""
    id = fields.BigIntField(primary_key=True)
    user = fields.ForeignKeyField("models.User", related_name="grants", on_delete=fields.CASCADE)
    role = fields.CharField(32)
    station = fields.ForeignKeyField("models.Station", null=True, related_name="staff_grants",
                                     on_delete=fields.CASCADE)
    merchant = fields.ForeignKeyField("models.Merchant", null=True, related_name="member_grants",
                                      on_delete=fields.CASCADE)
    is_head = fields.BooleanField(default=False)  # station head (站长)
    # role:station:merchant — unique per user (NULLs would not collide in a UNIQUE index).
    scope_key = fields.CharField(80)
    granted_by = fields.ForeignKeyField("models.User", null=True, related_name=False,
                                        on_delete=fields.SET_NULL)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "role_grants"
        unique_together = (("user", "scope_key"),)


class PrincipalChange(Model):
    """A user's roles, bindings or status changed (server.kit.auth.forget_principal). Written where
    the Redis cache cannot carry the news: the embedded in-process store is not shared, so a role
    granted by the CLI reaches the running server through this row, which the server reads every
    second (watch_principal_changes). Rows older than an hour are pruned."""
    id = fields.BigIntField(primary_key=True)
    user_id = fields.BigIntField()
    created_at = fields.DatetimeField(db_index=True)

    class Meta:
        table = "principal_changes"
