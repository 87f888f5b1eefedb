"""The risk page and its JSON API, served by the daemon beside ``/metrics``: ``GET /`` (plain HTML, one script,
one stylesheet, uPlot; nothing loaded from elsewhere) and ``/api/v1/...``, built by pure functions from the
store's newest immutable results."""

from monitor.web.routes import add_web_routes
from monitor.web.sources import WebSources

__all__ = ["WebSources", "add_web_routes"]
