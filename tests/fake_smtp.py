"""A minimal SMTP server on 127.0.0.1 for e-mail tests (RFC 5321 subset).

Speaks EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP and QUIT, keeps what it
receives, and can refuse recipients with a 550 answer.
"""

from __future__ import annotations

import socketserver
import threading
from dataclasses import dataclass, field


@dataclass
class Received:
    sender: str
    recipients: list[str]
    data: str


@dataclass
class FakeSMTP:
    messages: list[Received] = field(default_factory=list)
    refuse_recipients: bool = False
    server: socketserver.ThreadingTCPServer | None = None

    @property
    def port(self) -> int:
        assert self.server is not None
        return self.server.server_address[1]

    def start(self) -> FakeSMTP:
        fake = self

        class Handler(socketserver.StreamRequestHandler):
            def reply(self, line: str) -> None:
                self.wfile.write((line + "\r\n").encode())

            def handle(self) -> None:
                self.reply("220 fake ESMTP")
                sender, recipients = "", []
                while True:
                    raw = self.rfile.readline()
                    if not raw:
                        return
                    line = raw.decode("utf-8", "replace").rstrip("\r\n")
                    verb = line[:4].upper()
                    if verb == "EHLO":
                        self.reply("250-fake")
                        self.reply("250 8BITMIME")
                    elif verb == "HELO":
                        self.reply("250 fake")
                    elif verb == "MAIL":
                        sender, recipients = line.split(":", 1)[1].strip(" <>"), []
                        self.reply("250 OK")
                    elif verb == "RCPT":
                        if fake.refuse_recipients:
                            self.reply("550 No such user")
                        else:
                            recipients.append(line.split(":", 1)[1].strip(" <>"))
                            self.reply("250 OK")
                    elif verb == "DATA":
                        self.reply("354 End data with <CR><LF>.<CR><LF>")
                        lines = []
                        while True:
                            data_line = self.rfile.readline().decode("utf-8", "replace")
                            if data_line.rstrip("\r\n") == ".":
                                break
                            lines.append(data_line)
                        fake.messages.append(Received(sender, recipients, "".join(lines)))
                        self.reply("250 OK queued")
                    elif verb == "QUIT":
                        self.reply("221 Bye")
                        return
                    else:  # RSET, NOOP and the rest
                        self.reply("250 OK")

        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
