"""The playground's local web server: one page, a few JSON endpoints, one run per browser tab.

    server = PlaygroundServer()          # 127.0.0.1, a free port, a fresh random token
    server.start()                       # in a background thread (viz.playground() does this)
    print(server.url)                    # http://127.0.0.1:PORT/?token=...
    server.serve_forever()               # or in the foreground (tinygrad-edu playground)

Built on the standard library's http.server only. What keeps it safe on a
shared machine: it listens on 127.0.0.1 only; every request must carry the
token (as Jupyter's), else 403; bodies are bounded (Content-Length at most
a CSV's limit and a bit); every parameter is checked by viz.playground and a
bad one answers 400 with a message the page shows as text, never a
traceback. Each tab asks for a session of its own (at most MAX_SESSIONS at
once; the one idle longest makes room).

Endpoints (all but the page and the exports are POST with a JSON body, and
answer JSON):
  GET  /                         the page (its script and style inline, no CDN)
  POST /api/session              a new session: {"session": id}
  POST /api/reset                {session, setup}: a new run (same data if only the model
                                 changed): {"spec", "frame"}
  GET  /api/train?session=&steps=&seconds=   (or POST with a JSON body): up to `steps` steps,
                                 for at most `seconds`: {"losses", "accuracies", "frame"}
  POST /api/point                {session, action: add|remove, x1, x2, label}: {"spec", "frame"}
  POST /api/csv                  {session, text}: the CSV checked and kept: {"points", "classes"}
  GET  /api/export.py?session=   the run as a Python script
  GET  /api/weights.json?session=  the model's parameters
"""

from __future__ import annotations

import hmac
import html
import json
import secrets
import socket
import sys
import threading
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Optional
from urllib.parse import parse_qs, urlsplit

from tinygrad_edu.train import LOSSES
from tinygrad_edu.viz.playground_run import (
    DATA_FIELDS,
    DEFAULT_SETUP,
    HIDDEN_ACTIVATIONS,
    MAX_CSV_BYTES,
    MAX_LAYERS,
    MAX_POINTS,
    MAX_SECONDS_PER_REQUEST,
    MAX_STEPS_PER_REQUEST,
    MAX_UNITS,
    Run,
    SetupError,
    check_setup,
    parse_csv,
)
from tinygrad_edu.viz.walkthrough import _template, fill_template

HOST = "127.0.0.1"
MAX_SESSIONS = 8
MAX_BODY_BYTES = MAX_CSV_BYTES + 64_000  # a CSV's text in JSON, with its escapes and fields
SOCKET_TIMEOUT_SECONDS = 30  # a client that stops sending mid-request is dropped


class Session:
    """One tab's run, and a lock so its requests take turns."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.run: Optional[Run] = None
        self.uploaded: Optional[tuple[list, list]] = None
        self.used = time.monotonic()


class PlaygroundServer(ThreadingHTTPServer):
    """The playground's server on 127.0.0.1 (port 0: a free one), with its token and sessions."""

    daemon_threads = True

    def __init__(self, port: int = 0, token: Optional[str] = None,
                 max_sessions: int = MAX_SESSIONS) -> None:
        super().__init__((HOST, port), _Handler)
        self.max_sessions = max_sessions
        self.token = token or secrets.token_hex(24)
        self.sessions: dict[str, Session] = {}
        self.sessions_lock = threading.Lock()
        self.thread: Optional[threading.Thread] = None

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A browser that closed its connection mid-answer is no error; anything else is one
        line on stderr, never a traceback."""
        problem = sys.exc_info()[1]
        if not isinstance(problem, ConnectionError):
            print(f"tinygrad-edu playground: a request failed: {type(problem).__name__}: "
                  f"{problem}", file=sys.stderr)

    @property
    def port(self) -> int:
        return self.server_address[1]

    @property
    def url(self) -> str:
        """The page's address, with the token."""
        return f"http://{HOST}:{self.port}/?token={self.token}"

    def start(self) -> PlaygroundServer:
        """Serve in a daemon thread (for a notebook's kernel or a test)."""
        self.thread = threading.Thread(target=self.serve_forever, name="playground",
                                       daemon=True)
        self.thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self.shutdown()
        self.server_close()

    def new_session(self) -> str:
        """A fresh session's id; the one idle longest is dropped when MAX_SESSIONS are open,
        unless it was used in the last minute (then SetupError says to close a tab)."""
        with self.sessions_lock:
            if len(self.sessions) >= self.max_sessions:
                oldest = min(self.sessions, key=lambda k: self.sessions[k].used)
                if time.monotonic() - self.sessions[oldest].used < 60:
                    raise SetupError(f"the playground serves at most {self.max_sessions} tabs "
                                     f"at once and all are in use: close one, or wait a minute")
                del self.sessions[oldest]
            key = secrets.token_hex(8)
            self.sessions[key] = Session()
            return key

    def session(self, key: Any) -> Session:
        with self.sessions_lock:
            found = self.sessions.get(key) if isinstance(key, str) else None
        if found is None:
            raise SetupError("this tab's session has ended (the server restarted, or too many "
                             "tabs were opened): reload the page")
        found.used = time.monotonic()
        return found


# ------------------------------------------------------------------ requests
class _Handler(BaseHTTPRequestHandler):
    server: PlaygroundServer
    timeout = SOCKET_TIMEOUT_SECONDS
    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()
        # Headers and body go out as two writes: without this, Nagle's algorithm holds the
        # second until the browser's delayed ACK, ~40 ms a request (a third of a frame's time).
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass  # quiet: the terminal shows the URL and nothing else

    # ----- answers
    def _send(self, status: int, body: bytes, kind: str, extra: Optional[dict] = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        for key, value in (extra or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)

    def _json(self, status: int, data: Any) -> None:
        self._send(status, json.dumps(data, allow_nan=False).encode("utf-8"),
                   "application/json; charset=utf-8")

    def _error(self, status: int, message: str) -> None:
        self._json(status, {"error": message})

    # ----- the token
    def _authorised(self) -> Optional[dict[str, list[str]]]:
        """The query's fields if the request carries the token, else None (403 sent)."""
        query = parse_qs(urlsplit(self.path).query)
        given = query.get("token", [""])[0] or self.headers.get("X-Playground-Token", "")
        if not hmac.compare_digest(given.encode("utf-8", "replace"),
                                   self.server.token.encode("utf-8")):
            self.close_connection = True
            self._send(HTTPStatus.FORBIDDEN, b"403: this page needs the address with its token, "
                       b"as tinygrad-edu playground printed it\n", "text/plain; charset=utf-8")
            return None
        return query

    # ----- GET: the page and the exports
    def do_GET(self) -> None:
        query = self._authorised()
        if query is None:
            return
        path = urlsplit(self.path).path
        try:
            if path == "/":
                self._send(HTTPStatus.OK, page().encode("utf-8"), "text/html; charset=utf-8",
                           {"Content-Security-Policy": CONTENT_SECURITY_POLICY})
            elif path == "/api/train":
                # A GET: the play loop's request, one packet (a POST's body waits ~40 ms for the
                # server's delayed ACK when the browser sends it apart from its headers).
                fields = {key: _query_number(values[0]) for key, values in query.items()
                          if key in ("steps", "seconds")}
                fields["session"] = query.get("session", [""])[0]
                self._json(HTTPStatus.OK, _train(self.server, fields))
            elif path in ("/api/export.py", "/api/weights.json"):
                session = self.server.session(query.get("session", [""])[0])
                with session.lock:
                    if session.run is None:
                        raise SetupError("nothing to export yet: the run has not started")
                    if path == "/api/export.py":
                        body, kind, name = (session.run.script(), "text/x-python",
                                            "playground_run.py")
                    else:
                        body, kind, name = (json.dumps(session.run.weights(), indent=1),
                                            "application/json", "playground_weights.json")
                self._send(HTTPStatus.OK, body.encode("utf-8"), kind + "; charset=utf-8",
                           {"Content-Disposition": f'attachment; filename="{name}"'})
            else:
                self._error(HTTPStatus.NOT_FOUND, f"no page at {path[:80]!r}")
        except SetupError as problem:
            self._error(HTTPStatus.BAD_REQUEST, str(problem))

    # ----- POST: the API
    def do_POST(self) -> None:
        if self._authorised() is None:
            return
        path = urlsplit(self.path).path
        handler = ENDPOINTS.get(path)
        if handler is None:
            self.close_connection = True
            self._error(HTTPStatus.NOT_FOUND, f"no endpoint {path[:80]!r}")
            return
        try:
            body = self._body()
            self._json(HTTPStatus.OK, handler(self.server, body))
        except SetupError as problem:
            self._error(HTTPStatus.BAD_REQUEST, str(problem))
        except _TooLarge as problem:
            self.close_connection = True  # the body was not read: the connection cannot go on
            self._error(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, str(problem))
        except Exception as problem:  # a bug: the page gets one line, never a traceback
            text = " ".join(str(problem).split())[:200]
            self._error(HTTPStatus.INTERNAL_SERVER_ERROR,
                        f"internal error (a bug, please report it): {type(problem).__name__}: "
                        f"{text}")

    def _body(self) -> dict:
        length = self.headers.get("Content-Length")
        if length is None or not length.isdigit():
            raise _TooLarge("a request needs a Content-Length of at most "
                            f"{MAX_BODY_BYTES:,} bytes")
        if int(length) > MAX_BODY_BYTES:
            raise _TooLarge(f"a request body must be at most {MAX_BODY_BYTES:,} bytes (a CSV at "
                            f"most {MAX_CSV_BYTES:,}), got {int(length):,}")
        raw = self.rfile.read(int(length))
        try:
            body = json.loads(raw.decode("utf-8")) if raw else {}
        except (UnicodeDecodeError, ValueError):
            raise SetupError("the request body must be JSON") from None
        if not isinstance(body, dict):
            raise SetupError("the request body must be a JSON object")
        return body


class _TooLarge(Exception):
    pass


# ------------------------------------------------------------------ the endpoints
def _new_session(server: PlaygroundServer, body: dict) -> dict:
    return {"session": server.new_session()}


def _reset(server: PlaygroundServer, body: dict) -> dict:
    session = server.session(body.get("session"))
    setup = check_setup(body.get("setup", {}))
    with session.lock:
        old = session.run
        same_data = (old is not None and all(old.setup[k] == setup[k] for k in DATA_FIELDS)
                     and (setup["data"] != "csv" or old.uploaded is session.uploaded))
        run = Run(setup, session.uploaded,
                  old.data if old is not None and same_data else None)
        session.run = run
        return {"spec": run.spec(), "frame": run.frame()}


def _train(server: PlaygroundServer, body: dict) -> dict:
    session = server.session(body.get("session"))
    steps = _number(body, "steps", 1, MAX_STEPS_PER_REQUEST, whole=True)
    seconds = _number(body, "seconds", 0.0, MAX_SECONDS_PER_REQUEST)
    with session.lock:
        return _running(session).train(int(steps), seconds)


def _point(server: PlaygroundServer, body: dict) -> dict:
    session = server.session(body.get("session"))
    with session.lock:
        run = _running(session)
        run.edit_point(body.get("action"), body.get("x1"), body.get("x2"), body.get("label", 0))
        return {"spec": run.spec(), "frame": run.frame()}


def _csv(server: PlaygroundServer, body: dict) -> dict:
    session = server.session(body.get("session"))
    text = body.get("text")
    if not isinstance(text, str):
        raise SetupError("text must be the CSV file's text")
    X, y = parse_csv(text)
    with session.lock:
        session.uploaded = (X, y)
    return {"points": len(X), "classes": max(y) + 1}


def _query_number(text: str) -> Any:
    """A number from a query's text, or the text itself (then the check names it)."""
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def _running(session: Session) -> Run:
    if session.run is None:
        raise SetupError("the run has not started: the page sends its setup first")
    return session.run


def _number(body: dict, name: str, low: float, high: float, whole: bool = False) -> float:
    value = body.get(name)
    kind = int if whole else (int, float)
    if not isinstance(value, kind) or isinstance(value, bool) or not low <= value <= high:
        raise SetupError(f"{name} must be a {'whole ' if whole else ''}number from {low:g} to "
                         f"{high:g}, got {str(value)[:40]!r}")
    return value


ENDPOINTS = {"/api/session": _new_session, "/api/reset": _reset, "/api/train": _train,
             "/api/point": _point, "/api/csv": _csv}

# The page runs only its own inline script and style, talks only to this server, and draws
# images it makes itself (data: and blob: URLs): nothing from elsewhere, nothing injected runs.
CONTENT_SECURITY_POLICY = ("default-src 'none'; script-src 'unsafe-inline'; "
                           "style-src 'unsafe-inline'; img-src data: blob:; connect-src 'self'; "
                           "frame-ancestors *; base-uri 'none'; form-action 'none'")


def page() -> str:
    """The playground's page: the film's panels and style, the playground's script and controls.
    """
    choices = {"datasets": ["moons", "circles", "xor", "spiral", "blobs", "csv"],
               "activations": list(HIDDEN_ACTIVATIONS),
               "losses": {name: loss.summary for name, loss in LOSSES.items()},
               "optimizers": ["sgd", "momentum", "adam"], "defaults": DEFAULT_SETUP,
               "limits": {"points": MAX_POINTS, "layers": MAX_LAYERS, "units": MAX_UNITS,
                          "csvBytes": MAX_CSV_BYTES}}
    script = fill_template(_template("playground.js"),
                           {"CHOICES": json.dumps(choices).replace("<", "\\u003c")})
    return fill_template(_template("playground.html"), {
        "TITLE": html.escape("tinygrad_edu playground"),
        "STYLE": _template("film.css") + "\n" + _template("playground.css"),
        "NETWORK_AND_GRAPH_PANELS": _template("film_panels.html"),
        "SCRIPT": _template("film_panels.js") + "\n" + script,
    })


# ------------------------------------------------------------------ in Jupyter
_KERNEL_SERVER: Optional[PlaygroundServer] = None


class Playground:
    """The playground in a notebook: the page in a frame (the kernel serves it on 127.0.0.1),
    and `.model`, the live MLP that the page trains."""

    def __init__(self, server: PlaygroundServer, height: int = 1100) -> None:
        self.server = server
        self.session = server.new_session()
        self.height = height

    @property
    def url(self) -> str:
        """The page's address, with the token and this playground's session."""
        return f"{self.server.url}&session={self.session}"

    @property
    def run(self) -> Optional[Run]:
        """The run the page drives (None until the page has loaded)."""
        return self.server.session(self.session).run

    @property
    def model(self) -> Any:
        """The live MLP the page trains (None until the page has loaded)."""
        run = self.run
        return None if run is None else run.model

    def _repr_html_(self) -> str:
        return (f'<iframe src="{html.escape(self.url)}" width="100%" height="{self.height}" '
                f'style="border: 1px solid #ddd" title="tinygrad_edu playground"></iframe>'
                f'<div style="font-size: 12px">The playground runs in this kernel at '
                f'<a href="{html.escape(self.url)}" target="_blank">{html.escape(self.url)}</a>'
                f' (a browser on the same machine as the kernel can reach it).</div>')

    def __repr__(self) -> str:
        return f"Playground({self.url})"


def playground(height: int = 1100) -> Playground:
    """The playground for a notebook: this kernel serves it (one server for every call) and the
    cell shows it in a frame; `.model` is the MLP it trains."""
    global _KERNEL_SERVER
    if _KERNEL_SERVER is None:
        _KERNEL_SERVER = PlaygroundServer().start()
    return Playground(_KERNEL_SERVER, height)


__all__ = ["HOST", "MAX_BODY_BYTES", "MAX_SESSIONS", "Playground", "PlaygroundServer", "page",
           "playground"]
