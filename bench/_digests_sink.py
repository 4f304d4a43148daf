"""The benchmark's SMTP sink: a real aiosmtpd server in a process of its own, counting the
messages each recipient receives and the connections opened.

python -m bench._digests_sink --out FILE [--port 0]

Prints "READY <port>" once it listens. On SIGTERM (or SIGINT) it writes
{"connections", "messages", "recipients": {address: count}} to FILE and exits. No Controller:
its readiness probe would count as a connection.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import signal
import sys
from typing import Any

from aiosmtpd.smtp import SMTP


class Counts:
    def __init__(self) -> None:
        self.connections = 0
        self.messages = 0
        self.recipients: collections.Counter[str] = collections.Counter()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.messages += 1
        for address in envelope.rcpt_tos:
            self.recipients[address.lower()] += 1
        return "250 Message accepted for delivery"

    def as_dict(self) -> dict[str, Any]:
        return {
            "connections": self.connections,
            "messages": self.messages,
            "recipients": dict(self.recipients),
        }


class CountingSMTP(SMTP):
    def __init__(self, counts: Counts) -> None:
        super().__init__(counts, enable_SMTPUTF8=True)
        self.counts = counts

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.counts.connections += 1
        super().connection_made(transport)


async def serve(port: int, out: str) -> None:
    counts = Counts()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: CountingSMTP(counts), "127.0.0.1", port)
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    print(f"READY {server.sockets[0].getsockname()[1]}", flush=True)
    await stop.wait()
    server.close()
    with open(out, "w") as handle:
        json.dump(counts.as_dict(), handle)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    asyncio.run(serve(args.port, args.out))
    sys.exit(0)


if __name__ == "__main__":
    main()
