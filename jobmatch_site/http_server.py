"""gunicorn as `serve` runs it, with a worker whose own refusals answer in the asker's language.

gunicorn refuses an over-long request line (414) or header (431) before Django sees the request, and its stock
answer is a bare HTML page. A client of the API parses every error as {"detail", "field"}; a browser (Accept:
text/html) gets the app's styled error page instead, with a way back and plain words.
"""

import json
import re
import socket
import sys
import time

from gunicorn import util
from gunicorn.http.errors import LimitRequestHeaders, LimitRequestLine
from gunicorn.http.message import Request
from gunicorn.http.parser import RequestParser
from gunicorn.workers.gthread import ThreadWorker

# To find the Accept header, the rest of a refused head is read (and so drained: closing a socket with unread data
# resets the connection, and the browser may lose the answer): up to a URL as long as Chromium sends (2 MB), keeping
# only what follows the request line, for at most a second.
MAX_DRAIN_BYTES = 2 * 1024 * 1024
MAX_HEAD_BYTES = 64 * 1024
DRAIN_S = 1.0
_ACCEPTS_HTML = re.compile(rb"(?:\A|\r\n)accept:[^\r\n]*text/html", re.IGNORECASE)  # a header at the start too


def gunicorn_command(*, bind: str, workers: int = 2, threads: int = 4) -> list[str]:
    """The command line that serves the app: `serve` runs it, and the tests start the same one."""
    worker_class = f"{JsonRefusalWorker.__module__}.{JsonRefusalWorker.__name__}"
    return [sys.executable, "-m", "gunicorn", "jobmatch_site.wsgi", "--bind", bind, "--workers", str(workers),
            "--threads", str(threads), "--worker-class", worker_class, "--timeout", "120",
            "--access-logfile", "-"]  # fmt: skip


class HeadKeepingRequest(Request):
    """gunicorn's request parser, keeping hold of the buffer it reads the head into, so that a refusal can still see
    the request's headers. A reference, not a copy: an ordinary request pays one attribute assignment per read."""

    def read_into(self, unreader: object, buf: bytearray, stop: bool = False) -> None:
        self.__dict__["head_buffer"] = buf  # the request line's buffer, then the headers' (extended in place)
        super().read_into(unreader, buf, stop)

    def parse(self, unreader: object) -> bytes:
        try:
            return super().parse(unreader)
        except (LimitRequestLine, LimitRequestHeaders) as exc:
            exc.seen = bytes(self.__dict__.get("head_buffer", b""))
            raise


def _accepts_html(seen: bytes, client: socket.socket) -> bool:
    """Whether the refused request's head asks for HTML, reading the rest of the head off the socket if needed."""
    data, read, deadline = bytearray(seen), len(seen), time.monotonic() + DRAIN_S
    try:
        while True:
            if b"\r\n" not in data:
                del data[:-3]  # still inside the request line: keep only what could start its CRLF
            if b"\r\n\r\n" in data or read >= MAX_DRAIN_BYTES or len(data) >= MAX_HEAD_BYTES:
                break
            client.settimeout(max(deadline - time.monotonic(), 0.01))
            chunk = client.recv(65536)
            if not chunk:
                break
            read += len(chunk)
            data.extend(chunk)
    except OSError:  # timed out, or the client has gone: judge by what arrived
        pass
    return bool(_ACCEPTS_HTML.search(bytes(data).split(b"\r\n\r\n", 1)[0]))


def _error_page(code: int) -> bytes | None:
    """The app's styled page for a refusal (templates/414.html, 431.html); None when it cannot be rendered."""
    try:
        from django.template.loader import render_to_string

        return render_to_string(f"{code}.html").encode()
    except Exception:  # noqa: BLE001 - a refusal must still be answered, as JSON then
        return None


class JsonRefusalWorker(ThreadWorker):
    """gunicorn's threaded worker (what --threads > 1 picks); 414 and 431 answer JSON, or the styled page to a
    browser; any other refusal as usual."""

    def init_process(self) -> None:
        RequestParser.mesg_class = HeadKeepingRequest  # in this worker process only: it runs nothing else
        super().init_process()

    def handle_error(self, req: object, client: object, addr: tuple | None, exc: Exception) -> None:
        if isinstance(exc, LimitRequestLine):
            code, status = 414, "414 URI Too Long"
            detail = f"the URL is too long: at most {self.cfg.limit_request_line} bytes"
        elif isinstance(exc, LimitRequestHeaders):
            code, status = 431, "431 Request Header Fields Too Large"
            detail = (
                f"a header is longer than {self.cfg.limit_request_field_size} bytes, "
                f"or there are more than {self.cfg.limit_request_fields} of them"
            )
        else:
            super().handle_error(req, client, addr, exc)
            return
        self.log.warning("Invalid request from ip=%s: %s", (addr or ("",))[0], exc)
        page = _error_page(code) if _accepts_html(getattr(exc, "seen", b""), client) else None
        if page is not None:
            body, content_type = page, "text/html; charset=utf-8"
        else:
            body, content_type = json.dumps({"detail": detail, "field": None}).encode(), "application/json"
        head = f"HTTP/1.1 {status}\r\nConnection: close\r\nContent-Type: {content_type}\r\n"
        try:
            util.write_nonblock(client, f"{head}Content-Length: {len(body)}\r\n\r\n".encode("latin-1") + body)
        except Exception:  # the client has gone: nothing to answer
            self.log.debug("Failed to send error message.")
