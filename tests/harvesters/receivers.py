"""Local stand-ins for an alert's destinations: an SMTP sink (a minimal
SMTP server on a socket, enough for smtplib and ckan.lib.mailer) and an
HTTP receiver of webhook POSTs. Both run in a thread on 127.0.0.1 and
record what they got; ``fail`` makes the receiver answer 500."""
from __future__ import annotations

import email
import email.policy
import json
import socketserver
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class _SmtpHandler(socketserver.StreamRequestHandler):
    def _say(self, line: str) -> None:
        self.wfile.write(line.encode() + b"\r\n")

    def handle(self) -> None:
        self._say("220 sink ESMTP")
        rcpt: list[str] = []
        while line := self.rfile.readline():
            command = line.decode("utf-8", "replace").strip()
            verb = command[:4].upper()
            if verb in ("EHLO", "HELO"):
                self._say("250 sink")
            elif verb == "RCPT":
                rcpt.append(command.split(":", 1)[1].strip(" <>"))
                self._say("250 OK")
            elif verb == "DATA":
                self._say("354 go on")
                data = b""
                while (chunk := self.rfile.readline()) not in (b".\r\n", b""):
                    data += chunk[1:] if chunk.startswith(b"..") else chunk
                message = email.message_from_bytes(data, policy=email.policy.default)
                self.server.messages.append((rcpt, message))  # type: ignore[attr-defined]
                rcpt = []
                self._say("250 queued")
            elif verb == "QUIT":
                self._say("221 bye")
                return
            else:  # MAIL, RSET, NOOP
                self._say("250 OK")


class _Served(socketserver.BaseServer):
    """A server on 127.0.0.1 serving in a thread of its own from its start."""

    def start(self) -> None:
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.server_address[1]}"  # type: ignore[index]

    def stop(self) -> None:
        self.shutdown()
        self.server_close()


class SmtpSink(_Served, socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        socketserver.ThreadingTCPServer.__init__(self, ("127.0.0.1", 0), _SmtpHandler)
        self.messages: list[tuple[list[str], Any]] = []
        self.start()


class _HookHandler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        server: WebhookReceiver = self.server  # type: ignore[assignment]
        if server.fail:
            self.send_response(500)
        else:
            server.posts.append(json.loads(body))
            self.send_response(204)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


class WebhookReceiver(_Served, ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        ThreadingHTTPServer.__init__(self, ("127.0.0.1", 0), _HookHandler)
        self.posts: list[dict[str, Any]] = []
        self.fail = False
        self.start()

    @property
    def url(self) -> str:
        return f"http://{self.address}/hook"
