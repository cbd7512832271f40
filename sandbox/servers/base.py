"""What every fake vendor server shares: a real socket, routing, auth, counters and faults.

Each fake runs a `ThreadingHTTPServer` on 127.0.0.1 in a daemon thread. Fault injection is a
switch on the server (`inject`), never a mock in a test: the next matching requests are answered
with the given status and headers, exactly as a throttled or failing vendor would.
"""

from __future__ import annotations

import json
import re
import ssl
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import trustme


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def arg(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[0] if values else default

    def args(self, name: str) -> list[str]:
        """Repeated and comma-separated values alike (`a=1&a=2` or `a=1,2`)."""
        return [v for raw in self.query.get(name, []) for v in raw.split(",") if v]

    def json(self) -> Any:
        return json.loads(self.body or b"{}")


@dataclass
class Response:
    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    raw: bytes | None = None
    drop: bool = False


class HttpError(Exception):
    def __init__(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        super().__init__(status)
        self.response = Response(status, body, headers or {})


@dataclass
class Fault:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    times: int = 1
    path_contains: str = ""
    delay_seconds: float = 0.0
    raw: bytes | None = None
    drop: bool = False  # close the connection without answering


@dataclass
class Quota:
    """A request budget that refills some seconds after it is spent (Toggl's hourly quota,
    Salesforce's daily limit, HubSpot's ten-second window, scaled down for tests)."""

    size: int
    status: int
    body: Any
    refill_seconds: float
    headers: Callable[[float], dict[str, str]]
    remaining: int = 0
    reset_at: float | None = None


Route = tuple[str, re.Pattern[str], Callable[..., Response]]


class FakeServer:
    """Base of the four fakes: subclasses register routes and check credentials."""

    name = "fake"

    def __init__(self, tls: bool = False) -> None:
        self.routes: list[Route] = []
        self.requests: Counter[str] = Counter()
        self.faults: list[Fault] = []
        self.quota: Quota | None = None
        self._lock = threading.Lock()
        self.tls = tls
        self.ca: trustme.CA | None = None
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- routing ---------------------------------------------------------------------------------
    def route(self, method: str, pattern: str, handler: Callable[..., Response]) -> None:
        self.routes.append((method, re.compile(f"^{pattern}$"), handler))

    def authenticate(self, request: Request) -> None:
        """Raise HttpError when the request's credentials are wrong."""

    def inject(self, status: int, body: Any = None, headers: dict[str, str] | None = None,
               times: int = 1, path_contains: str = "", delay_seconds: float = 0.0,
               raw: bytes | None = None, drop: bool = False) -> None:
        """Answer the next `times` matching requests with this status (after an optional
        delay); `raw` sends those bytes as the body, e.g. a truncated JSON document. Status 0
        lets the request through unchanged (after the delay): a slow response, or a way to let
        the first matching requests pass before a later fault. `drop` closes the connection
        without an answer, as a dropped connection mid-page does."""
        with self._lock:
            self.faults.append(Fault(status, body, headers or {}, times, path_contains,
                                     delay_seconds, raw, drop))

    def clear_faults(self) -> None:
        """Back to normal service: no pending faults, no request budget."""
        with self._lock:
            self.faults.clear()
            self.quota = None

    def limit(self, requests: int, status: int, body: Any, refill_seconds: float,
              headers: Callable[[float], dict[str, str]] | None = None) -> None:
        """Allow `requests` more requests, then answer `status` until `refill_seconds` after
        the budget ran out; `headers(seconds_to_reset)` adds the vendor's headers."""
        with self._lock:
            self.quota = Quota(requests, status, body, refill_seconds,
                               headers or (lambda _: {}), remaining=requests)

    def _spent(self) -> Response | None:
        quota = self.quota
        if quota is None:
            return None
        now = time.monotonic()
        if quota.reset_at is not None and now >= quota.reset_at:
            quota.remaining, quota.reset_at = quota.size, None
        if quota.remaining > 0:
            quota.remaining -= 1
            return None
        quota.reset_at = quota.reset_at or now + quota.refill_seconds
        return Response(quota.status, quota.body, quota.headers(quota.reset_at - now))

    @property
    def request_count(self) -> int:
        return sum(self.requests.values())

    def dispatch(self, request: Request) -> Response:
        with self._lock:
            self.requests[request.path] += 1
            spent = self._spent()
            if spent is not None:
                return spent
            fault = next((f for f in self.faults if f.path_contains in request.path), None)
            if fault is not None:
                fault.times -= 1
                if fault.times <= 0:
                    self.faults.remove(fault)
        if fault is not None:
            time.sleep(fault.delay_seconds)
            if fault.drop:
                return Response(drop=True)
            if fault.status:
                return Response(fault.status, fault.body, fault.headers, fault.raw)
        try:
            self.authenticate(request)
            for method, pattern, handler in self.routes:
                match = pattern.match(request.path)
                if match and method == request.method:
                    return handler(request, **match.groupdict())
            raise HttpError(404, self.not_found_body(request))
        except HttpError as error:
            return error.response

    def not_found_body(self, request: Request) -> Any:
        return {"message": f"no route for {request.method} {request.path}"}

    # -- lifecycle -------------------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        assert self._server is not None, "server not started"
        scheme = "https" if self.tls else "http"
        return f"{scheme}://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> FakeServer:
        server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        server.daemon_threads = True
        if self.tls:
            self.ca = trustme.CA()
            cert = self.ca.issue_cert("127.0.0.1", "localhost")
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            cert.configure_cert(context)
            server.socket = context.wrap_socket(server.socket, server_side=True)
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=self.name, daemon=True)
        self._thread.start()
        return self

    def write_ca_bundle(self, path: str) -> str:
        assert self.ca is not None, "only a TLS server has a CA"
        self.ca.cert_pem.write_to_path(path)
        return path

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _handler_for(fake: FakeServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Headers and body go out in two writes: without TCP_NODELAY the body waits for the
        # client's delayed ACK (~40 ms a request on a kept-alive connection).
        disable_nagle_algorithm = True

        def _serve(self) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            request = Request(
                method=self.command,
                path=parts.path,
                query=parse_qs(parts.query, keep_blank_values=True),
                headers={k.lower(): v for k, v in self.headers.items()},
                body=self.rfile.read(length) if length else b"",
            )
            response = fake.dispatch(request)
            if response.drop:
                self.close_connection = True
                self.connection.shutdown(2)  # a reset mid-request: no status line at all
                return
            if response.raw is not None:
                payload = response.raw
            elif response.body is None:
                payload = b""
            else:
                payload = json.dumps(response.body).encode()
            self.send_response(response.status)
            headers = {"Content-Type": "application/json;charset=UTF-8", **response.headers}
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_PATCH = do_DELETE = _serve

        def log_message(self, format: str, *args: object) -> None:  # quiet
            return

    return Handler


def page_slice(items: list[Any], offset: int, size: int) -> tuple[list[Any], int | None]:
    """One page and the offset of the next, or None when this page is the last."""
    chunk = items[offset : offset + size]
    following = offset + size
    return chunk, (following if following < len(items) else None)


def iso_z(value: Any, millis: bool = True) -> str:
    text = value.strftime("%Y-%m-%dT%H:%M:%S")
    return f"{text}.{value.microsecond // 1000:03d}Z" if millis else f"{text}Z"
