"""The baseline: a bare Sanic JSON hello world with the server's own settings (one worker per
--workers, no access log, orjson, the same keep-alive), so the harness can say what fraction of
plain Sanic an endpoint reaches on this machine in the same run.

    python -m bench.bare_app --port 8001 [--workers 1]
"""
from __future__ import annotations

import argparse

import orjson
from sanic import Request, Sanic
from sanic.response import HTTPResponse, json

# The flash sale's floor (bench/scenarios/flash_sale.py): the buy button's own request (POST, a JSON
# body, a bearer token, the same route shape) answered with a constant sold-out 409 by a handler
# that does nothing else -- what Sanic alone costs that request on this machine.
SOLD_OUT = orjson.dumps({"error": {"code": "LIVE_SOLD_OUT", "message": "sold out in this live session",
                                   "details": {"tiein_id": 1, "sku_id": 1}}})


def _dumps(obj) -> str:
    return orjson.dumps(obj).decode()


def create_app() -> Sanic:
    app = Sanic("kazuo_bench_bare", dumps=_dumps, loads=orjson.loads, configure_logging=False)
    # The same knobs server/app.py sets; nothing else (no middleware, no error handler).
    app.config.update({"ACCESS_LOG": False, "KEEP_ALIVE_TIMEOUT": 30, "REQUEST_TIMEOUT": 30,
                       "RESPONSE_TIMEOUT": 60, "MOTD": False, "AUTO_EXTEND": False})

    @app.get("/")
    async def hello(request: Request):
        return json({"status": "ok"})

    @app.post("/api/v1/live/sessions/<session_id:int>/orders")
    async def floor(request: Request, session_id: int):
        return HTTPResponse(SOLD_OUT, status=409, content_type="application/json")

    return app


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.bare_app")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8001)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    from functools import partial

    from sanic.worker.loader import AppLoader

    loader = AppLoader(factory=partial(create_app))
    app = loader.load()
    # the server's default backlog (KAZUO_BACKLOG), so a burst of connections meets both alike
    app.prepare(host=args.host, port=args.port, workers=args.workers, access_log=False, backlog=1024,
                single_process=args.workers == 1, motd=False)
    if args.workers == 1:
        Sanic.serve_single(primary=app)
    else:
        Sanic.serve(primary=app, app_loader=loader)


if __name__ == "__main__":
    main()
