"""The two cache tiers: L1 entries are dropped by another process's invalidation message, an entry
read just before an invalidation never enters L1, and Redis entries never outlive their versions."""

from server.catalog import cache
from server.kit import redis as kr
from server.models.catalog import Product
from tests.catalog.conftest import on_sale
from tests.conftest import wait_for


async def _wait_for(fn, timeout=3.0):
    return bool(await wait_for(fn, timeout, 0.02))


async def _ready(l1):
    return l1.ready


async def test_another_process_invalidation_reaches_l1(client, admin, shop, cat):
    p = await on_sale(shop, admin, cat, name="二级缓存醋")
    assert (await client.get(f"/api/v1/products/{p['id']}")).json()["name"] == "二级缓存醋"
    l1 = cache._l1()
    assert await _wait_for(lambda: _ready(l1))
    assert (await client.get(f"/api/v1/products/{p['id']}")).status_code == 200
    assert l1.get(f"detail:{p['id']}") is not None      # served from this process's L1
    await Product.filter(id=p["id"]).update(subtitle="别的进程改的")
    # what another process (a worker, another Sanic worker) does: bump and publish, no local drop
    await kr.bump_namespace(cache.CATALOG_NS, cache.product_ns(p["id"]))
    await kr.redis().publish(kr.key("catalog", "invalidate"), f"{cache.CATALOG_NS},{cache.product_ns(p['id'])}")

    async def fresh():
        return (await client.get(f"/api/v1/products/{p['id']}")).json()["subtitle"] == "别的进程改的"

    assert await _wait_for(fresh)


async def test_entry_read_before_an_invalidation_stays_out_of_l1(app):
    from server.kit.local_cache import LocalCache

    l1 = LocalCache("test", life=5.0, max_entries=100)
    l1.ready = True
    gen = l1.generation
    l1.drop({cache.CATALOG_NS})          # the invalidation lands between the Redis read and the put
    l1.put("list:x", b"old", frozenset({cache.CATALOG_NS}), gen)
    assert l1.get("list:x") is None
    l1.put("list:x", b"new", frozenset({cache.CATALOG_NS}), l1.generation)
    assert l1.get("list:x") == b"new"
    l1.put("detail:1", b"d1", frozenset({cache.product_ns(1)}), l1.generation, 2**40)
    l1.put("detail:2", b"d2", frozenset({cache.product_ns(2)}), l1.generation, 2**40)
    l1.drop({cache.CATALOG_NS, cache.product_ns(1)})
    assert l1.get("list:x") is None and l1.get("detail:1") is None and l1.get("detail:2") == b"d2"
    l1.put("past", b"p", frozenset(), l1.generation, 1.0)   # its deadline (service clock) has gone
    assert l1.get("past") is None
    l1.ready = False                      # not subscribed: L1 answers nothing
    assert l1.get("detail:2") is None


async def test_redis_entry_with_old_versions_is_not_served(app):
    calls = []

    async def loader():
        calls.append(1)
        return {"n": len(calls)}

    name = "test:versions"
    l1 = cache._l1()
    assert (await cache.cached_bytes(("t-ns",), name, loader, 60)) == b'{"n":1}'
    if l1:
        l1.reset()
    assert (await cache.cached_bytes(("t-ns",), name, loader, 60)) == b'{"n":1}'  # from Redis
    await kr.bump_namespace("t-ns")
    if l1:
        l1.reset()
    assert (await cache.cached_bytes(("t-ns",), name, loader, 60)) == b'{"n":2}'
