#!/usr/bin/env python3
"""A real SMTP server for Custody's tests (aiosmtpd from PyPI, installed by
scripts/test into /var/tmp/custody-smtp-venv). Every message it accepts is
written to --maildir as one file (the envelope in X-Envelope-* lines first,
then the message exactly as received), by rename, so a reader never sees half
a message. Options: STARTTLS required (--starttls CERT KEY), implicit TLS
(--tls CERT KEY), AUTH (--auth USER PASSWORD). Prints READY once listening;
stops on SIGTERM/SIGINT."""

import argparse
import os
import signal
import ssl
import sys
import threading
import time

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


class Saver:
    def __init__(self, maildir):
        self.maildir = maildir
        self.count = 0
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.count += 1
            n = self.count
        name = f"{time.time_ns()}-{os.getpid()}-{n}.eml"
        head = f"X-Envelope-From: {envelope.mail_from}\r\n"
        for rcpt in envelope.rcpt_tos:
            head += f"X-Envelope-To: {rcpt}\r\n"
        tmp = os.path.join(self.maildir, "." + name + ".tmp")
        with open(tmp, "wb") as f:
            f.write(head.encode("utf-8"))
            f.write(envelope.original_content or envelope.content)
            f.flush()
            os.fsync(f.fileno())
        os.rename(tmp, os.path.join(self.maildir, name))
        return "250 OK"


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--maildir", required=True)
    p.add_argument("--starttls", nargs=2, metavar=("CERT", "KEY"))
    p.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"))
    p.add_argument("--auth", nargs=2, metavar=("USER", "PASSWORD"))
    a = p.parse_args()
    os.makedirs(a.maildir, exist_ok=True)

    kwargs = {"enable_SMTPUTF8": True}
    if a.starttls:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(*a.starttls)
        kwargs.update(tls_context=ctx, require_starttls=True)
    if a.tls:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(*a.tls)
        kwargs.update(ssl_context=ctx)
    if a.auth:
        user, password = a.auth[0].encode(), a.auth[1].encode()

        def authenticator(server, session, envelope, mechanism, data):
            ok = isinstance(data, LoginPassword) and data.login == user and data.password == password
            return AuthResult(success=ok, handled=False)

        # aiosmtpd counts only STARTTLS as TLS for `auth_require_tls`; with
        # implicit TLS the whole connection is already encrypted.
        kwargs.update(authenticator=authenticator, auth_required=True,
                      auth_require_tls=bool(a.starttls))
    controller = Controller(Saver(a.maildir), hostname="127.0.0.1", port=a.port,
                            server_hostname="localhost", **kwargs)
    controller.start()
    print("READY", flush=True)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    done.wait()
    controller.stop()


if __name__ == "__main__":
    sys.exit(main())
