# SPDX-License-Identifier: GPL-2.0-or-later
"""Shared helpers of the python integration scripts: TAP-style ok lines,
a QMP client over a unix socket, bounded waits and checked commands."""
import json
import os
import socket
import subprocess
import time

_count = 0


def ok(what):
    global _count
    _count += 1
    print('ok %d - %s' % (_count, what))


def wait_path(path, proc=None, secs=10):
    """Wait (bounded) until @path exists; fail early if @proc exited."""
    end = time.time() + secs
    while time.time() < end:
        if os.path.exists(path):
            return
        if proc is not None and proc.poll() is not None:
            raise SystemExit('daemon exited: %s' % proc.returncode)
        time.sleep(0.05)
    raise SystemExit('timeout waiting for %s' % path)


def run(*argv, expect=0, **kw):
    p = subprocess.run(argv, capture_output=True, text=True, timeout=60,
                       **kw)
    assert p.returncode == expect, (argv, p.returncode, p.stdout, p.stderr)
    return p.stdout + p.stderr


class Qmp:
    """A negotiated QMP connection; events are kept in .events and every
    line the server sent in .raw."""

    def __init__(self, path, timeout=20):
        self.s = socket.socket(socket.AF_UNIX)
        self.s.settimeout(timeout)
        self.s.connect(path)
        self.f = self.s.makefile('rwb')
        self.events = []
        self.raw = []
        self.read()
        assert self.cmd('qmp_capabilities') == {'return': {}}

    def read(self):
        line = self.f.readline()
        self.raw.append(line)
        return json.loads(line)

    def cmd(self, name, args=None):
        req = {'execute': name}
        if args is not None:
            req['arguments'] = args
        self.f.write(json.dumps(req).encode() + b'\n')
        self.f.flush()
        while True:
            m = self.read()
            if 'event' in m:
                self.events.append(m)
                continue
            return m

    def close(self):
        self.s.close()


def passed():
    """How many ok() lines were printed."""
    return _count
