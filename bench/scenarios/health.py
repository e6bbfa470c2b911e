"""GET /healthz: the full middleware path (request id, error handler, @endpoint, orjson) with no I/O."""
from bench import Req

CONNECTIONS = 50


def requests(ctx):
    return [Req("GET", "/healthz")]
