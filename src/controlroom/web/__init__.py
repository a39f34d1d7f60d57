"""The web panel: a FastAPI app, a live hub fed by every server's PUB socket, pages.

Run it with ``controlroom web run``; build it in process with
:func:`create_app`. Every asset is served from this package
(``controlroom/web/static``): nothing is fetched from the internet.

Pieces
------
* :mod:`.app` -- :func:`create_app` and :data:`~.app.PAGES`, the list of pages;
* :mod:`.hub` -- :class:`~.hub.Hub`: the latest message per topic
  (``status/<server>``, ``hk/<server>``, ``event/<server>``, and the panel's
  own ``server/<server>`` status lights) plus recent events, fanned out to
  subscribers; the feed (a :mod:`controlroom.rpc.follow` subscriber),
  :mod:`.discovery` (Settings, current Setup, registry) and :mod:`.watch`
  (pings: the status lights) keep it current; :mod:`.live` puts them together;
* :mod:`.ws` -- the one WebSocket per page, ``/ws?topics=...``: snapshot first,
  then changes; commands from the page as registered :class:`~.context.WsAction`;
* :mod:`.security`, :mod:`.sessions`, :mod:`.config` -- login with argon2
  hashes from ``web.users``, server-side sessions, CSRF, roles, and the rule
  that anonymous access needs a loopback bind;
* ``static/app.js`` -- the ES module every page's module imports: ``live()``
  (WebSocket with snapshot-then-changes and reconnection with backoff),
  ``api()`` (fetch with the CSRF header), ``nav()`` (with the watched status
  file), ``el()``, formatting; ``static/style.css``.

Adding a page
-------------
1. ``controlroom/web/pages/<name>.py``::

       router = APIRouter()

       @router.get("/<name>", include_in_schema=False)
       def shell(request: Request) -> Response:
           return html_shell(request, page)              # static/<name>.html, login enforced

       @router.get("/api/<name>/things")
       def things(context: WebContext = Depends(web_context),
                  _: Session = Depends(require_role("viewer"))) -> list[...]: ...

       @router.post("/api/<name>/do")                     # CSRF already checked by the middleware
       def do(session: Session = Depends(require_role("operator"))) -> ...: ...

       page = Page("<name>", "Title", "/<name>", router, order=50, styles=("records.css",))

2. add ``<name>.page`` to :data:`~.app.PAGES`;
3. ``static/<name>.html`` holds what goes inside ``<main>``; the shell
   ``static/page.html`` around it loads ``style.css``, the page's ``styles``
   and the module ``static/<name>.js`` (no inline scripts or styles: the
   Content-Security-Policy forbids them);
4. ``static/<name>.js`` imports from ``./app.js``, calls ``nav("<name>")`` and
   ``live(["hk/dummy", "server/"], {snapshot(s) {...}, change(m) {...}})``.

WebSocket commands are registered with
``context.actions["name"] = WsAction("operator", handler)`` (``handler(session, message)``
is a coroutine); the page calls ``await live.command("name", {...})``.
"""

from __future__ import annotations

from controlroom.web.app import PAGES, create_app
from controlroom.web.errors import AccessDenied, WebConfigError, WebError

__all__ = ["PAGES", "AccessDenied", "WebConfigError", "WebError", "create_app"]
