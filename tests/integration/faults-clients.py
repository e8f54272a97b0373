#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Faults from the client side and the administrator, against one warden
daemon with a plain and a TLS (x509) NBD server on the same writable node:

- clients die mid-handshake, mid-STARTTLS, mid-write (half a payload, and
  a real qemu-io killed -9) and mid-TLS-record: after each the server
  serves others and its open file descriptors return to the baseline;
- the certificate files are overwritten and deleted while a TLS session
  runs: it is unaffected, and new sessions still work (the credentials
  were loaded when the object was created);
- block-export-del mode=safe with a busy client waits for it (the export
  stays, shutting-down, BLOCK_EXPORT_DELETED comes after it leaves);
  mode=hard drops clients without losing acknowledged writes;
- SIGTERM with pipelined writes in flight on several connections: every
  acknowledged write is in the file, replies are whole (clean
  disconnects), the daemon exits 0 and removes its pidfile and sockets.

Usage: faults-clients.py WARDEN TMPDIR"""
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nbdraw  # noqa: E402
from nbdraw import OPT, REP_ACK  # noqa: E402
from wardentest import ok, Qmp, wait_path, run  # noqa: E402

WARDEN, TMP = sys.argv[1], sys.argv[2]
SIZE = 16 << 20
BLOCK = 4096
TLS = ('pki/ca-cert.pem', 'pki/client-cert.pem', 'pki/client-key.pem')


def P(name):
    return os.path.join(TMP, name)


def pattern(offset, tag):
    """A block nobody else writes: its offset and a tag, repeated."""
    return (struct.pack('>QQ', offset, tag) * (BLOCK // 16))


def file_block(offset):
    with open(P('disk.img'), 'rb') as f:
        f.seek(offset)
        return f.read(BLOCK)


class Daemon:
    def __init__(self):
        for s in ('qmp.sock', 'plain.sock', 'tls.sock', 'd.pid'):
            if os.path.exists(P(s)):
                os.unlink(P(s))
        self.p = subprocess.Popen([
            WARDEN, 'daemon', '--monitor', 'unix:' + P('qmp.sock'),
            '--pidfile', P('d.pid'),
            '--object', 'tls-creds-x509,id=t0,endpoint=server,dir=srv-pki',
            '--blockdev', 'driver=file,node-name=d0,filename=disk.img',
            '--object', 'nbd-server,id=plain,addr.type=unix,addr.path=%s'
            % P('plain.sock'),
            '--object', 'nbd-server,id=tls,addr.type=unix,addr.path=%s,'
            'tls-creds=t0' % P('tls.sock'),
            '--export', 'type=nbd,id=e0,node-name=d0,name=disk,'
            'writable=on,server=plain',
            '--export', 'type=nbd,id=e1,node-name=d0,name=disk,'
            'writable=on,server=tls'], cwd=TMP)
        wait_path(P('qmp.sock'), self.p)
        self.q = Qmp(P('qmp.sock'))

    def fds(self):
        return len(os.listdir('/proc/%d/fd' % self.p.pid))

    def stop(self):
        if self.p.poll() is None:
            self.p.terminate()
        return self.p.wait(timeout=30)


def served(sock, tls=False):
    """A real client still gets a read and a write through."""
    args = ['--object', 'tls-creds-x509,id=c,endpoint=client,dir=pki',
            '--image-opts', 'driver=nbd,server.type=unix,server.path=%s,'
            'export=disk,tls-creds=c,tls-hostname=localhost' % sock] \
        if tls else ['-f', 'raw', 'nbd+unix:///disk?socket=' + sock]
    out = run('qemu-io', *args[:-1], '-c', 'write -P 0x77 %d 4096'
              % (SIZE - 4096), '-c', 'read -P 0x77 %d 4096' % (SIZE - 4096),
              args[-1])
    assert 'read 4096/4096' in out, out


def settle_fds(d, base, what):
    end = time.time() + 10
    while d.fds() > base and time.time() < end:
        time.sleep(0.05)
    assert d.fds() <= base, '%s: %d fds open, baseline %d' % (
        what, d.fds(), base)


def dying_clients(d):
    served(P('plain.sock'))
    served(P('tls.sock'), tls=True)
    time.sleep(0.5)             # the served clients' fds are closed
    base = d.fds()

    def check(what, tls=False):
        assert d.p.poll() is None, 'daemon died: ' + what
        served(P('tls.sock' if tls else 'plain.sock'), tls)
        settle_fds(d, base, what)

    # Mid-handshake: half of the client flags; then half an option.
    for sock in ('plain.sock', 'tls.sock'):
        c = nbdraw.Nbd.__new__(nbdraw.Nbd)
        s = socket.socket(socket.AF_UNIX)
        s.connect(P(sock))
        s.recv(18)
        s.send(b'\0\0')
        s.close()
        c = nbdraw.Nbd(P(sock))
        c.send(struct.pack('>QI', nbdraw.OPTS_MAGIC, OPT['go']))
        c.s.close()
    check('mid-handshake')
    # Mid-STARTTLS: ack received, then half a ClientHello.
    c = nbdraw.Nbd(P('tls.sock'))
    c.opt(OPT['starttls'])
    assert c.reply(OPT['starttls'])[0] == REP_ACK
    c.send(b'\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03' + b'\0' * 40)
    c.s.close()
    check('mid-TLS-handshake', tls=True)
    ok('clients gone mid-handshake: others served, no fd leaked')

    # Mid-write: a 1 MiB WRITE header and half its payload, plain and TLS
    # (there: half of the TLS records carrying it).
    for tls in (False, True):
        c = nbdraw.connect(P('tls.sock' if tls else 'plain.sock'), 'disk',
                           TLS if tls else None, bio=True)
        req = struct.pack('>IHHQQI', nbdraw.REQ_MAGIC, 0, nbdraw.CMD_WRITE,
                          1, 0, 1 << 20) + b'\xee' * (1 << 20)
        if tls:
            rec = c.s.encrypt(req)
            c.raw.sendall(rec[:len(rec) // 2 + 7])   # inside a record
        else:
            c.send(req[:len(req) // 2])
        c.raw.close()
        check('mid-write', tls)
    assert file_block(0) != b'\xee' * BLOCK, 'half a write was applied'
    ok('clients gone mid-write and mid-TLS-record: nothing applied, '
       'others served, no fd leaked')

    # A real client killed -9 while its large writes are in flight.
    for tls in (False, True):
        sock = P('tls.sock' if tls else 'plain.sock')
        args = ['--object', 'tls-creds-x509,id=c,endpoint=client,dir=pki',
                '--image-opts', 'driver=nbd,server.type=unix,server.path=%s,'
                'export=disk,tls-creds=c,tls-hostname=localhost' % sock] \
            if tls else ['-f', 'raw', 'nbd+unix:///disk?socket=' + sock]
        cmds = []
        for i in range(200):
            cmds += ['-c', 'aio_write -P 0x%x %d 4M' % (i % 250 + 1,
                                                       (i % 3) << 22)]
        p = subprocess.Popen(['qemu-io', *args[:-1], *cmds, args[-1]],
                             cwd=TMP, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
        time.sleep(0.4)
        p.kill()
        p.wait()
        check('qemu-io killed', tls)
    ok('qemu-io killed -9 during 4 MiB writes (plain, TLS): others served, '
       'no fd leaked')


def cert_files(d):
    c = nbdraw.connect(P('tls.sock'), 'disk', TLS)
    assert c.write(8192, pattern(8192, 1)) == 0
    # Overwrite with another PKI's files, then delete the directory.
    for f in os.listdir(P('other-pki')):
        shutil.copy(P('other-pki/' + f), P('srv-pki/' + f))
    assert c.read(8192, BLOCK) == (0, pattern(8192, 1))
    served(P('tls.sock'), tls=True)
    shutil.rmtree(P('srv-pki'))
    assert c.write(12288, pattern(12288, 2)) == 0
    assert c.read(12288, BLOCK) == (0, pattern(12288, 2))
    c.disconnect()
    served(P('tls.sock'), tls=True)
    ok('certificate files overwritten, then deleted: the running session '
       'goes on; new sessions use the credentials loaded at creation')


def deleted(q):
    """Ids in BLOCK_EXPORT_DELETED events, once one came (bounded)."""
    end = time.time() + 10
    while not q.events and time.time() < end:
        q.cmd('query-block-exports')
        time.sleep(0.02)
    return [e['data']['id'] for e in q.events
            if e['event'] == 'BLOCK_EXPORT_DELETED']


def export_del(d):
    q = d.q
    c = nbdraw.connect(P('plain.sock'), 'disk')
    assert c.write(16384, pattern(16384, 3)) == 0
    r = q.cmd('block-export-del', {'id': 'e0'})
    assert r == {'return': {}}, r
    exp = [e for e in q.cmd('query-block-exports')['return']
           if e['id'] == 'e0']
    assert exp and exp[0]['shutting-down'], exp
    assert not any(e['event'] == 'BLOCK_EXPORT_DELETED' for e in q.events)
    # The busy client is still served; a new one is not.
    assert c.write(20480, pattern(20480, 4)) == 0
    assert c.read(16384, BLOCK) == (0, pattern(16384, 3))
    out = run('qemu-img', 'info', 'nbd+unix:///disk?socket=' +
              P('plain.sock'), expect=1)
    assert 'disk' in out, out
    c.disconnect()
    assert deleted(q) == ['e0'], q.events
    assert file_block(20480) == pattern(20480, 4)
    ok('block-export-del mode=safe: the busy client keeps being served, '
       'the export goes (and BLOCK_EXPORT_DELETED comes) when it leaves')

    q.events.clear()
    c = nbdraw.connect(P('tls.sock'), 'disk', TLS)
    # Writes pipelined 32 deep over 4 MiB, round after round, while QMP
    # deletes the export hard from another thread.
    base, nblocks = 8 << 20, (4 << 20) // BLOCK
    replies = []

    def delete():
        time.sleep(0.3)
        replies.append(q.cmd('block-export-del', {'id': 'e1',
                                                  'mode': 'hard'}))
    t = threading.Thread(target=delete)
    t.start()
    acked, inflight, sent = {}, {}, 0
    try:
        while sent < 200000:
            while len(inflight) < 32:
                off = base + sent % nblocks * BLOCK
                c.request(nbdraw.CMD_WRITE, sent, off, BLOCK,
                          pattern(off, sent // nblocks))
                inflight[sent] = off
                sent += 1
            err, h, _ = c.simple_reply()
            off = inflight.pop(h)
            if err == 0:
                acked[off] = max(acked.get(off, 0), h // nblocks)
    except nbdraw.Closed as e:
        assert 'after 0 of' in str(e), 'torn reply: %s' % e
    except (ConnectionResetError, BrokenPipeError, OSError):
        pass
    t.join(30)
    assert replies == [{'return': {}}], replies
    assert sent < 200000, 'the client was never dropped'
    assert deleted(q) == ['e1'], q.events
    for off, rnd in acked.items():
        o, tag = struct.unpack('>QQ', file_block(off)[:16])
        assert file_block(off) == pattern(off, tag) and tag >= rnd, \
            'lost acknowledged write at %d' % off
    ok('block-export-del mode=hard drops a client with writes in flight; '
       'every acknowledged write (%d blocks, %d writes sent) is in the '
       'file' % (len(acked), sent))


def sigterm(d, add_exports=True, quiet=False):
    """Four connections pipelining writes; SIGTERM; check the file.
    Returns the number of acknowledged writes checked."""
    for i, sock in enumerate(('plain.sock', 'tls.sock') if add_exports
                             else ()):
        r = d.q.cmd('block-export-add', {
            'type': 'nbd', 'id': 'x%d' % i, 'node-name': 'd0',
            'name': 'disk', 'writable': True,
            'server': 'plain' if i == 0 else 'tls'})
        assert r == {'return': {}}, r
    acked, torn, lock = {}, [], threading.Lock()   # offset -> round
    started = threading.Barrier(5)
    nblocks = (1 << 20) // BLOCK

    def writer(k):
        c = nbdraw.connect(P('tls.sock' if k % 2 else 'plain.sock'),
                           'disk', TLS if k % 2 else None)
        base = (1 << 20) + k * (1 << 20)   # its own MiB, rewritten in rounds
        sent, inflight = 0, {}
        started.wait()
        try:
            while True:
                while len(inflight) < 16:
                    off = base + sent % nblocks * BLOCK
                    c.request(nbdraw.CMD_WRITE, sent, off, BLOCK,
                              pattern(off, sent // nblocks))
                    inflight[sent] = off
                    sent += 1
                err, h, _ = c.simple_reply()
                off = inflight.pop(h)
                if err == 0:
                    with lock:
                        acked[off] = max(acked.get(off, 0), h // nblocks)
        except nbdraw.Closed as e:
            if 'after 0 of' not in str(e):
                torn.append(str(e))
        except (ConnectionResetError, BrokenPipeError, OSError):
            pass

    threads = [threading.Thread(target=writer, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    started.wait()
    time.sleep(1)
    d.p.send_signal(signal.SIGTERM)
    rc = d.p.wait(timeout=30)
    for t in threads:
        t.join(30)
    assert rc == 0, 'exit status %d' % rc
    assert not torn, torn
    assert acked, 'no write was acknowledged before SIGTERM'
    # Each block holds the last acknowledged round, or a later one the
    # server applied but could not acknowledge any more.
    lost = []
    for off, rnd in acked.items():
        o, tag = struct.unpack('>QQ', file_block(off)[:16])
        if file_block(off) != pattern(off, tag) or tag < rnd:
            lost.append(off)
    assert not lost, '%d acknowledged writes lost' % len(lost)
    rounds = max(acked.values())
    if quiet:
        return len(acked)
    for f in ('d.pid', 'qmp.sock', 'plain.sock', 'tls.sock'):
        assert not os.path.exists(P(f)), f + ' left behind'
    ok('SIGTERM with writes in flight on 4 connections (%d rounds over '
       '%d blocks): every acknowledged write in the file, whole replies, '
       'exit 0, pidfile and sockets removed' % (rounds, len(acked)))
    return len(acked)


def main():
    os.chdir(TMP)
    run(WARDEN, 'certs', 'create', 'pki')
    run(WARDEN, 'certs', 'create', 'other-pki')
    shutil.copytree('pki', 'srv-pki')
    with open('disk.img', 'wb') as f:
        f.truncate(SIZE)
    d = Daemon()
    try:
        dying_clients(d)
        cert_files(d)
        export_del(d)
        sigterm(d)
    finally:
        d.stop()
    # LONG=1 (tests/stress/faults.sh): SIGTERM with writes in flight, again
    # and again, each time on a fresh daemon over the same image.
    rounds = 30 if os.environ.get('LONG') == '1' else 0
    if rounds:
        shutil.copytree('pki', 'srv-pki')
        total = 0
        for _ in range(rounds):
            d = Daemon()
            try:
                total += sigterm(d, add_exports=False, quiet=True)
            finally:
                d.stop()
        ok('%d more SIGTERMs with writes in flight: every acknowledged '
           'write in the file' % rounds)
        print('figure: SIGTERM rounds %d, acknowledged blocks checked %d, '
              'lost 0' % (rounds, total))


if __name__ == '__main__':
    main()
