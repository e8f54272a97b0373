#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Drive a Warden websocket echo endpoint with the real python3-websockets
client (Debian's package: run with /usr/bin/python3).

Usage: websock-client.py ws://HOST:PORT/

The server must echo every byte it reads back as text frames (the unit
test test-io-channel-websock does; the QMP-over-websocket endpoint can use
a variant). Checks: subprotocol "binary" negotiated, small and large
(16- and 64-bit length) messages echoed, ping answered with pong, clean
close with 1000, and a malformed upgrade request refused with 400.
Exit status: 0 pass, 1 fail, 77 skip (module missing).
"""
import asyncio
import socket
import sys
import urllib.parse

try:
    import websockets
except ImportError:
    print("SKIP: python3-websockets is not installed", file=sys.stderr)
    sys.exit(77)

TIMEOUT = 5


async def collect(ws, length):
    """Read messages until @length characters arrived (the server may
    split an echo into several frames)."""
    got = ""
    while len(got) < length:
        msg = await asyncio.wait_for(ws.recv(), TIMEOUT)
        if not isinstance(msg, str):
            raise AssertionError(f"expected a text frame, got {type(msg)}")
        got += msg
    return got


async def session(url):
    async with websockets.connect(url, subprotocols=["chat", "binary"],
                                  max_size=None, compression=None) as ws:
        assert ws.subprotocol == "binary", ws.subprotocol
        await ws.send("hello")
        assert await collect(ws, 5) == "hello"

        for size in (200, 70000, 300000):
            data = "".join(chr(ord("a") + i % 26) for i in range(size))
            await ws.send(data)
            got = await collect(ws, size)
            assert got == data, f"echo of {size} bytes differs"

        pong = await ws.ping(b"are you there")
        await asyncio.wait_for(pong, TIMEOUT)
        await ws.close()
        assert ws.close_code == 1000, ws.close_code


def bad_request(url):
    u = urllib.parse.urlparse(url)
    with socket.create_connection((u.hostname, u.port), TIMEOUT) as s:
        s.sendall(b"GET / HTTP/1.0\r\nHost: x\r\n\r\n")
        s.settimeout(TIMEOUT)
        resp = b""
        while b"\r\n\r\n" not in resp:
            chunk = s.recv(4096)
            if not chunk:
                break
            resp += chunk
        assert resp.startswith(b"HTTP/1.1 400 Bad Request\r\n"), resp


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 1
    url = sys.argv[1]
    asyncio.run(session(url))
    print("websocket session: ok", file=sys.stderr)
    bad_request(url)
    print("bad request refused: ok", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
