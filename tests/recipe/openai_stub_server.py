"""A real OpenAI-compatible HTTP server on 127.0.0.1 with scripted behaviour, for testing the ``openai`` backend.

It is the counterpart under test, not a stand-in for our code: the backend talks to it through the real
``openai`` client over a real socket. Each incoming ``/v1/chat/completions`` request takes the next action
from ``script`` (``"ok"`` once the script is empty): an HTTP status (429, 500, 401, 404, ...), a delay longer
than the client's timeout, a malformed body, a reply with no choices, a null content, fewer choices than
asked, or a content holding a lone surrogate escape or bytes that are not UTF-8. Successful replies are
deterministic functions of the request (messages, n, seed), so tests can check that each completion landed at
the right request and sample position.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

#: What the broken-text actions append to each completion (``invalid_bytes``: the mark becomes raw 0xFF 0xFE).
BROKEN = {"lone_surrogate": " \ud83d", "invalid_bytes": " <not-utf8>"}
BROKEN_MARK = b"<not-utf8>"


def scripted_text(body: dict[str, Any], choice: int) -> str:
    """The completion the stub returns: names the last message, the seed and the choice index."""
    last = body["messages"][-1]["content"]
    return f"echo[{last}] seed={body.get('seed')} choice={choice} The answer is \\boxed{{A}}."


class StubOpenAIServer:
    """``with StubOpenAIServer(script=[429, "ok"]) as server: server.base_url`` -> ``http://127.0.0.1:PORT/v1``."""

    def __init__(self, script: Iterable[Any] = (), delay_s: float = 1.0):
        self.script: deque[Any] = deque(script)
        self.delay_s = delay_s
        self.requests: list[dict[str, Any]] = []
        self.times: list[float] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def __enter__(self) -> StubOpenAIServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _next_action(self, body: dict[str, Any]) -> Any:
        with self._lock:
            self.requests.append(body)
            self.times.append(time.monotonic())
            return self.script.popleft() if self.script else "ok"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # keep pytest output clean
                pass

            def _send(self, status: int, payload: Any, raw: bytes | None = None) -> None:
                data = raw if raw is not None else json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                try:
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):  # the client timed out and left
                    pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length) or b"{}")
                if self.path.rstrip("/") != "/v1/chat/completions":
                    self._send(404, {"error": {"message": f"no route {self.path}", "type": "not_found"}})
                    return
                action = stub._next_action(body)
                if isinstance(action, int):
                    self._send(action, {"error": {"message": f"scripted HTTP {action}", "type": "scripted"}})
                    return
                if action == "slow":
                    time.sleep(stub.delay_s)
                elif action == "malformed_json":
                    self._send(200, None, raw=b"{this is not json")
                    return
                elif action == "no_choices":
                    self._send(200, {"id": "x", "object": "chat.completion", "created": 0, "model": "m", "choices": []})
                    return
                n = int(body.get("n") or 1)
                if isinstance(action, tuple) and action[0] == "fewer_choices":
                    n = action[1]
                choices = [
                    {
                        "index": i,
                        "message": {
                            "role": "assistant",
                            "content": None
                            if action == "null_content"
                            else scripted_text(body, i) + BROKEN.get(action, ""),
                        },
                        "finish_reason": "stop",
                    }
                    for i in range(n)
                ]
                reply = {
                    "id": "cmpl",
                    "object": "chat.completion",
                    "created": 0,
                    "model": body.get("model"),
                    "choices": choices,
                }
                raw = json.dumps(reply).encode()  # ASCII: a lone surrogate is sent as its \\udXXX escape
                self._send(200, None, raw=raw.replace(BROKEN_MARK, b"\xff\xfe") if action == "invalid_bytes" else raw)

        return Handler
