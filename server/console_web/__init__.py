"""The web console (运营后台) under /console/: server-rendered Jinja2 pages with htmx, vendored static
files (static/README.md), sign-in by phone + SMS code or by scanning with the mini-program. A surface:
it calls services only (see web.py for the page decorator, signin.py and office.py for the pages)."""
from sanic import Blueprint

from server.console_web import collection_desk  # first-mile collection (#26)
from server.console_web import (cash, live_desk, merchant_desk, office, payouts, queues, signin, statements,
                                station_desk, stations, statistics, taxonomy, trace, training, warehouse)
from server.console_web import freight  # freight templates (#25)
from server.console_web import promotions  # coupons and festival campaigns (#28)
from server.console_web.web import HERE
from server.console_web import content, ratings  # buyers' reviews and the office's pages (#30)
from server.console_web import complaints  # complaints and reports (#26)
from server.console_web import aftersales as aftersales_web  # after-sales (#25)
from server.console_web import presale  # pre-sale pages (#28)
from server.console_web import sharing  # share attribution (#29)

_static = Blueprint("console_web_static", url_prefix="/console")
_static.static("/static", str(HERE / "static"), name="console_static")

bp = Blueprint.group(signin.bp, office.bp, stations.bp, taxonomy.bp, statistics.bp, trace.bp, training.bp, queues.bp,
                       payouts.bp, merchant_desk.bp, live_desk.bp, warehouse.bp, station_desk.bp, cash.bp, statements.bp,
                       collection_desk.bp,
                       content.bp, ratings.bp,  # (#30)
                       complaints.bp,  # complaints and reports (#26)
                       freight.bp,
                       promotions.bp,
                       aftersales_web.bp,
                       presale.bp,  # pre-sale (#28)
                       sharing.bp,
                       _static)
