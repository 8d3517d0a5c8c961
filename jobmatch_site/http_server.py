"""gunicorn as `serve` runs it, with a worker whose own refusals answer the API's JSON error shape.

gunicorn refuses an over-long request line (414) or header (431) before Django sees the request, and its stock
answer is an HTML page; a client of the API parses every error as {"detail", "field"}.
"""

import json
import sys

from gunicorn import util
from gunicorn.http.errors import LimitRequestHeaders, LimitRequestLine
from gunicorn.workers.gthread import ThreadWorker


def gunicorn_command(*, bind: str, workers: int = 2, threads: int = 4) -> list[str]:
    """The command line that serves the app: `serve` runs it, and the tests start the same one."""
    worker_class = f"{JsonRefusalWorker.__module__}.{JsonRefusalWorker.__name__}"
    return [sys.executable, "-m", "gunicorn", "jobmatch_site.wsgi", "--bind", bind, "--workers", str(workers),
            "--threads", str(threads), "--worker-class", worker_class, "--timeout", "120",
            "--access-logfile", "-"]  # fmt: skip


class JsonRefusalWorker(ThreadWorker):
    """gunicorn's threaded worker (what --threads > 1 picks); 414 and 431 answer JSON, any other refusal as usual."""

    def handle_error(self, req: object, client: object, addr: tuple | None, exc: Exception) -> None:
        if isinstance(exc, LimitRequestLine):
            status, detail = "414 URI Too Long", f"the URL is too long: at most {self.cfg.limit_request_line} bytes"
        elif isinstance(exc, LimitRequestHeaders):
            status = "431 Request Header Fields Too Large"
            detail = (
                f"a header is longer than {self.cfg.limit_request_field_size} bytes, "
                f"or there are more than {self.cfg.limit_request_fields} of them"
            )
        else:
            super().handle_error(req, client, addr, exc)
            return
        self.log.warning("Invalid request from ip=%s: %s", (addr or ("",))[0], exc)
        body = json.dumps({"detail": detail, "field": None}).encode()
        head = f"HTTP/1.1 {status}\r\nConnection: close\r\nContent-Type: application/json\r\n"
        try:
            util.write_nonblock(client, f"{head}Content-Length: {len(body)}\r\n\r\n".encode("latin-1") + body)
        except Exception:  # the client has gone: nothing to answer
            self.log.debug("Failed to send error message.")
