#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Minimal QMP client for tests: qmp-client.py SOCKET CMD [JSON-ARGS].
Negotiates, runs one command, prints the reply as JSON; exit 0."""
import json
import socket
import sys


def main():
    path, cmd = sys.argv[1], sys.argv[2]
    args = json.loads(sys.argv[3]) if len(sys.argv) > 3 else None
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(10)
    s.connect(path)
    f = s.makefile('rwb')
    json.loads(f.readline())
    f.write(b'{"execute":"qmp_capabilities"}\n')
    f.flush()
    json.loads(f.readline())
    req = {'execute': cmd}
    if args is not None:
        req['arguments'] = args
    f.write(json.dumps(req).encode() + b'\n')
    f.flush()
    while True:
        msg = json.loads(f.readline())
        if 'event' not in msg:
            break
    print(json.dumps(msg))


if __name__ == '__main__':
    main()
