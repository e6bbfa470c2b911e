"""Bounded thread pools: one per vendor (WeChat login and messages, WeChat Pay, Aliyun SMS, Aliyun Live,
WMS, OSS, ...) and one for CPU work (QR codes, label sheets, image decoding, zips).

asyncio's default executor is shared by everything: with WeChat Pay 4 s slow its six threads filled
with payment calls and an unrelated WeChat login waited 15.9 s. Here a slow vendor fills only its own
pool, and a call's deadline includes its wait for a thread (a call still queued when the deadline
passes never starts)."""
from __future__ import annotations

import asyncio
import contextlib
import functools
import weakref
from concurrent.futures import ThreadPoolExecutor
from typing import Any, AsyncIterator, Callable, TypeVar

T = TypeVar("T")

# The vendors (one pool each). WMS speaks async HTTP (httpx): it takes a slot() instead of a thread.
WECHAT = "wechat"            # mini-program login, subscribe messages, wxacode, shipping
WECHAT_PAY = "wechatpay"
ALIYUN_SMS = "aliyun_sms"
ALIYUN_LIVE = "aliyun_live"
WMS = "wms"
MEDIA = "media"              # media file I/O (local disk today, OSS later)

VENDOR_THREADS = 4  # replaced by configure() from KAZUO_VENDOR_POOL_THREADS
CPU_THREADS = 2

_pools: dict[str, ThreadPoolExecutor] = {}
_semaphores: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, asyncio.Semaphore]] = \
    weakref.WeakKeyDictionary()
_sizes = {"vendor": VENDOR_THREADS, "cpu": CPU_THREADS}


def configure(*, vendor_threads: int, cpu_threads: int) -> None:
    """Set the pool sizes (pools already made keep theirs until shutdown())."""
    _sizes.update(vendor=vendor_threads, cpu=cpu_threads)


def _pool(name: str) -> ThreadPoolExecutor:
    pool = _pools.get(name)
    if pool is None:
        size = _sizes["cpu"] if name == "cpu" else _sizes["vendor"]
        pool = _pools[name] = ThreadPoolExecutor(max_workers=size, thread_name_prefix=f"kz-{name}")
    return pool


async def vendor_call(vendor: str, fn: Callable[..., T], *args: Any, deadline: float | None = None,
                      **kwargs: Any) -> T:
    """Run a blocking vendor SDK call in that vendor's pool; `deadline` seconds cover the queue wait too
    (asyncio.TimeoutError when it passes)."""
    fut = asyncio.get_running_loop().run_in_executor(_pool(vendor), functools.partial(fn, *args, **kwargs))
    if deadline is None:
        return await fut
    async with asyncio.timeout(deadline):
        return await fut


async def cpu(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run CPU-bound work (QR, labels, images, zips) in the CPU pool, off the event loop."""
    return await asyncio.get_running_loop().run_in_executor(_pool("cpu"), functools.partial(fn, *args, **kwargs))


@contextlib.asynccontextmanager
async def slot(vendor: str, *, deadline: float | None = None) -> AsyncIterator[None]:
    """Bound an async vendor's concurrent calls like a pool bounds a sync one (as many as its
    threads); `deadline` seconds cover the wait for a slot and the body (asyncio.TimeoutError)."""
    async with asyncio.timeout(deadline):
        async with semaphore(vendor, _sizes["vendor"]):
            yield


def semaphore(name: str, size: int) -> asyncio.Semaphore:
    """This event loop's semaphore `name`, made with `size` slots at its first use: at most `size`
    holders at once in this process, the waiters served in arrival order."""
    loop = asyncio.get_running_loop()
    try:
        return _semaphores[loop][name]
    except KeyError:
        return _semaphores.setdefault(loop, {}).setdefault(name, asyncio.Semaphore(size))


def shutdown() -> None:
    """Stop every pool (at process exit); queued calls are cancelled."""
    for pool in _pools.values():
        pool.shutdown(wait=False, cancel_futures=True)
    _pools.clear()
    _semaphores.clear()
