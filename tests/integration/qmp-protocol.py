#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""QMP protocol tests over raw unix sockets (standard library only).

Usage: qmp-protocol.py WARDEN TMPDIR
Starts warden daemon, then checks: many simultaneous clients each with
its own negotiation, a client that disconnects mid-message, events to
every negotiated client, a 100 MiB message and 100,000 nested brackets
without harm, and a differential run against qemu-storage-daemon
comparing reply shapes, classes and texts on shared commands."""
import json
import os
import shutil
import socket
import subprocess
import sys
import time

WARDEN, TMP = sys.argv[1], sys.argv[2]
checks = 0


def ok(what):
    global checks
    checks += 1
    print('ok %d - %s' % (checks, what))


def wait_path(path, proc, secs=10):
    end = time.time() + secs
    while time.time() < end:
        if os.path.exists(path):
            return
        if proc.poll() is not None:
            raise SystemExit('daemon exited: %s' % proc.returncode)
        time.sleep(0.05)
    raise SystemExit('timeout waiting for %s' % path)


class Client:
    def __init__(self, path):
        self.s = socket.socket(socket.AF_UNIX)
        self.s.settimeout(20)
        self.s.connect(path)
        self.buf = b''
        self.greeting = self.recv()

    def send(self, data):
        self.s.sendall(data if isinstance(data, bytes) else data.encode())

    def recv(self):
        while b'\r\n' not in self.buf:
            chunk = self.s.recv(65536)
            if not chunk:
                raise EOFError
            self.buf += chunk
        line, self.buf = self.buf.split(b'\r\n', 1)
        return json.loads(line)

    def reply(self):
        while True:
            m = self.recv()
            if 'event' not in m:
                return m

    def cmd(self, name, args=None, **extra):
        req = {'execute': name}
        if args is not None:
            req['arguments'] = args
        req.update(extra)
        self.send(json.dumps(req))
        return self.reply()

    def close(self):
        self.s.close()


def start(argv, sock):
    if os.path.exists(sock):
        os.unlink(sock)
    p = subprocess.Popen(argv, stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE)
    wait_path(sock, p)
    return p


def warden_tests():
    sock = os.path.join(TMP, 'w.sock')
    p = start([WARDEN, 'daemon', '--monitor', 'unix:' + sock], sock)
    try:
        g = Client(sock).greeting
        assert g['QMP']['capabilities'] == [] and 'qemu' in g['QMP']['version']
        ok('greeting shaped as QEMU\'s')

        clients = [Client(sock) for _ in range(50)]
        for i, c in enumerate(clients):
            if i % 2 == 0:
                assert c.cmd('qmp_capabilities') == {'return': {}}
        for i, c in enumerate(clients):
            r = c.cmd('query-version', id=i)
            if i % 2 == 0:
                assert r['return']['package'].startswith('warden'), r
            else:
                assert r['error']['class'] == 'CommandNotFound', r
            assert r['id'] == i
        ok('50 simultaneous clients, each with its own negotiation')

        half = Client(sock)
        half.send('{"execute":"qmp_capabilities"}{"execute":"query-ver')
        half.close()
        r = clients[0].cmd('query-version')
        assert 'return' in r
        ok('a client disconnecting mid-message affects nobody')

        big = Client(sock)
        big.cmd('qmp_capabilities')
        big.send('{"execute":"query-version","id":"')
        chunk = b'a' * (1 << 20)
        for _ in range(100):
            big.send(chunk)
        big.send('"}')
        r = big.reply()
        assert 'size limit' in r['error']['desc'], r
        assert big.cmd('query-version', id='after')['id'] == 'after'
        ok('100 MiB message rejected, connection still usable')

        big.send('[' * 100000 + ']' * 100000)
        r = big.reply()
        assert r['error']['desc'] == 'JSON nesting depth limit exceeded', r
        assert big.cmd('query-version', id=7)['id'] == 7
        ok('100,000 nested brackets rejected, connection still usable')

        big.send(b'{"execute":"\xff\xfe"}')
        r = big.reply()
        assert r['error']['class'] == 'GenericError', r
        ok('invalid UTF-8 gets an error reply')

        # events go to every negotiated client (SHUTDOWN on quit)
        listeners = clients[:4]     # negotiated ones: 0 and 2
        q = Client(sock)
        q.cmd('qmp_capabilities')
        assert q.cmd('quit') == {'return': {}}
        for c in (clients[0], clients[2]):
            ev = c.recv()
            assert ev['event'] == 'SHUTDOWN', ev
            assert ev['data'] == {'guest': False, 'reason': 'host-qmp-quit'}
            assert set(ev['timestamp']) == {'seconds', 'microseconds'}
        ok('SHUTDOWN event sent to every negotiated client')
        assert p.wait(10) == 0
        assert not os.path.exists(sock)
        ok('quit exits 0 and removes the socket')
        del listeners
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()


SHARED = [
    ('query-version-args', 'query-version', {'x': 1}),
    ('object-del-missing', 'object-del', {'id': 'nope'}),
    ('object-del-noargs', 'object-del', None),
    ('object-del-wrongtype', 'object-del', {'id': 1}),
    ('object-add-no-type', 'object-add', {'id': 'x', 'data': 'x'}),
    ('object-add-bad-type', 'object-add', {'qom-type': 'no-such-type',
                                           'id': 'x'}),
    ('object-add-unexpected', 'object-add', {'qom-type': 'secret', 'id': 'x',
                                             'data': 'x', 'bogus': 1}),
    ('object-add-data-int', 'object-add', {'qom-type': 'secret', 'id': 'x',
                                           'data': 1}),
    ('object-add-id-int', 'object-add', {'qom-type': 'secret', 'id': 1,
                                         'data': 'x'}),
    ('object-add-neither', 'object-add', {'qom-type': 'secret', 'id': 'x'}),
    ('object-add-both', 'object-add', {'qom-type': 'secret', 'id': 'x',
                                       'data': 'x', 'file': '/etc/hostname'}),
    ('object-add-format', 'object-add', {'qom-type': 'secret', 'id': 'x',
                                         'data': 'x', 'format': 'hex'}),
    ('object-add-b64', 'object-add', {'qom-type': 'secret', 'id': 'x',
                                      'data': 'MTI$NDU2', 'format': 'base64'}),
    ('object-add-ok', 'object-add', {'qom-type': 'secret', 'id': 'ok0',
                                     'data': 'x'}),
    ('object-del-ok', 'object-del', {'id': 'ok0'}),
    ('qom-list-missing', 'qom-list', {'path': '/nonexistent'}),
    ('qom-get-missing', 'qom-get', {'path': '/objects/nope',
                                    'property': 'data'}),
    ('unknown', 'object_add', {}),
]
# Where we deliberately say more than QEMU (documented in docs/qmp.md).
OURS_DIFFER = {'object-add-bad-id'}


def run_sequence(argv, sock):
    p = start(argv, sock)
    out = {}
    try:
        c = Client(sock)
        out['pre-negotiation'] = c.cmd('query-version', id=1)
        out['negotiate'] = c.cmd('qmp_capabilities')
        out['negotiate-again'] = c.cmd('qmp_capabilities')
        out['not-object'] = (c.send('[]'), c.reply())[1]
        out['lacks-execute'] = (c.send('{}'), c.reply())[1]
        for name, cmd, args in SHARED:
            out[name] = c.cmd(cmd, args, id=name)
        c.close()
    finally:
        p.kill()
        p.wait()
    return out


def shape(v):
    if isinstance(v, dict):
        return {k: shape(x) for k, x in v.items()}
    if isinstance(v, list):
        return [shape(x) for x in v[:1]]
    return type(v).__name__


def differential():
    qsd = shutil.which('qemu-storage-daemon')
    if not qsd:
        print('# qemu-storage-daemon not installed: differential skipped')
        return
    a = run_sequence([WARDEN, 'daemon', '--monitor',
                      'unix:' + os.path.join(TMP, 'd1.sock')],
                     os.path.join(TMP, 'd1.sock'))
    qs = os.path.join(TMP, 'd2.sock')
    b = run_sequence([qsd, '--chardev', 'socket,id=c0,path=%s,server=on,'
                      'wait=off' % qs, '--monitor', 'chardev=c0'], qs)
    for key in a:
        wa, qa = a[key], b[key]
        assert shape(wa) == shape(qa) or key in ('query-version',), \
            '%s: shape %s vs qsd %s' % (key, wa, qa)
        if 'error' in qa:
            assert wa['error']['class'] == qa['error']['class'], \
                '%s: class %s vs qsd %s' % (key, wa, qa)
            if key in ('object-add-both', 'object-add-neither',
                       'object-add-format', 'object-add-b64',
                       'object-del-missing', 'object-del-noargs',
                       'object-del-wrongtype', 'object-add-no-type',
                       'object-add-bad-type', 'object-add-unexpected',
                       'object-add-data-int', 'object-add-id-int',
                       'qom-list-missing', 'qom-get-missing', 'unknown',
                       'pre-negotiation', 'negotiate-again', 'not-object',
                       'lacks-execute', 'query-version-args'):
                assert wa['error']['desc'] == qa['error']['desc'], \
                    '%s: desc %r vs qsd %r' % (key, wa['error']['desc'],
                                               qa['error']['desc'])
    ok('differential: %d replies match qemu-storage-daemon in shape, class '
       'and text' % len(a))


warden_tests()
differential()
print('%d checks passed' % checks)
