"""GET /api/v1/me as a logged-in user: JWT check, roles from the Redis principal cache, the user row."""
from bench import Req

CONNECTIONS = 50


async def setup(ctx):
    # A handful of distinct users so the server cannot serve one hot row only.
    users = await ctx.login_many(int(ctx.option("users", 20)), prefix="o-bench-me-")
    admin = await ctx.login_as("admin", openid="o-bench-me-admin")
    ctx.state["users"] = users + [admin]


def requests(ctx):
    return [Req("GET", "/api/v1/me", headers=u.headers) for u in ctx.state["users"]]


async def verify(ctx):
    r = await ctx.http.get("/api/v1/me", headers=ctx.state["users"][-1].headers)
    r.raise_for_status()
    roles = r.json()["roles"]
    if "admin" not in roles:
        raise AssertionError(f"grant-role did not reach the token: roles {roles}")
    return {"checked": "a granted admin role shows on /me"}
