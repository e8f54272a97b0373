#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Downgrade attempts against a TLS-only warden daemon, from raw sockets,
in every order the NBD spec forbids (../shared/ref/nbd.md, TLS): each
option before STARTTLS, EXPORT_NAME in clear, STARTTLS with a payload,
STARTTLS twice, cleartext pipelined behind STARTTLS, a refused
structured reply that must not stick, garbage instead of a ClientHello.
After each, a real client (qemu-io) is still served over TLS.

Usage: nbd-downgrade.py WARDEN TMPDIR"""
import os
import struct
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nbdraw  # noqa: E402
from wardentest import ok, wait_path  # noqa: E402
from nbdraw import OPT, REP_ACK, ERR_INVALID, ERR_TLS_REQD  # noqa: E402

WARDEN, TMP = sys.argv[1], sys.argv[2]


def main():
    os.chdir(TMP)
    subprocess.run([WARDEN, 'certs', 'create', 'pki'], check=True,
                   capture_output=True)
    tls = ('pki/ca-cert.pem', 'pki/client-cert.pem', 'pki/client-key.pem')
    with open('disk.img', 'wb') as f:
        f.write(b'TLS-ONLY')
        f.truncate(1 << 20)
    sock = os.path.join(TMP, 'nbd.sock')
    d = subprocess.Popen([WARDEN, 'daemon', '--object',
                          'tls-creds-x509,id=t0,endpoint=server,dir=pki',
                          '--blockdev', 'driver=file,node-name=d0,'
                          'filename=disk.img',
                          '--nbd-server', 'addr.type=unix,addr.path=%s,'
                          'tls-creds=t0' % sock,
                          '--export', 'type=nbd,id=e0,node-name=d0,'
                          'name=disk,writable=on'])
    try:
        wait_path(sock, d)
        attempts(sock, tls)
        assert d.poll() is None, 'server died'
    finally:
        d.terminate()
        assert d.wait(timeout=30) == 0, 'daemon exit status'


def still_served(sock):
    p = subprocess.run(
        ['qemu-io', '-r', '--object', 'tls-creds-x509,id=c,endpoint=client,'
         'dir=pki', '--image-opts', '-c', 'read -P 0 8 4096',
         'driver=nbd,server.type=unix,server.path=%s,export=disk,'
         'tls-creds=c,tls-hostname=localhost' % sock],
        capture_output=True, text=True, timeout=60)
    assert p.returncode == 0 and 'read 4096/4096' in p.stdout, \
        (p.stdout, p.stderr)


def attempts(sock, tls):
    # Every option but STARTTLS and ABORT: ERR_TLS_REQD with QEMU's text,
    # and the connection stays usable for STARTTLS.
    c = nbdraw.Nbd(sock)
    for name in ('list', 'info', 'go', 'structured-reply',
                 'list-meta-context', 'set-meta-context', 'extended-headers',
                 0x42, 4):
        code = OPT.get(name, name)
        body = struct.pack('>I', 4) + b'disk' + struct.pack('>H', 0) \
            if name in ('info', 'go') else b''
        c.opt(code, body)
        rtype, text = c.reply(code)
        assert rtype == ERR_TLS_REQD, (name, hex(rtype))
        assert text == b'Option 0x%x not permitted before TLS' % code, text
    c.starttls(*tls)
    assert c.go('disk')[0] == 1 << 20
    c.disconnect()
    ok('each option before STARTTLS: NBD_REP_ERR_TLS_REQD, then TLS works')
    still_served(sock)

    c = nbdraw.Nbd(sock)
    c.opt(OPT['abort'])
    assert c.reply(OPT['abort'])[0] == REP_ACK
    assert c.closed()
    c = nbdraw.Nbd(sock)
    c.opt(OPT['export-name'], b'disk')
    assert c.closed(), 'EXPORT_NAME in clear was answered'
    ok('ABORT before TLS acknowledged; EXPORT_NAME in clear hangs up')
    still_served(sock)

    c = nbdraw.Nbd(sock)
    c.opt(OPT['starttls'], b'xx')
    rtype, text = c.reply(OPT['starttls'])
    assert (rtype, text) == (ERR_INVALID,
                             b"option 'starttls' has unexpected length"), text
    c.starttls(*tls)
    c.opt(OPT['starttls'])
    rtype, text = c.reply(OPT['starttls'])
    assert (rtype, text) == (ERR_INVALID, b'TLS already enabled'), text
    assert c.go('disk')[0] == 1 << 20
    c.disconnect()
    ok('STARTTLS with a payload refused; STARTTLS inside TLS refused')

    # Cleartext behind STARTTLS (CVE-2021-3716): the STRUCTURED_REPLY sent
    # in clear with it is discarded, so replies stay simple.  The same for
    # one refused before TLS.
    for pipelined in (True, False):
        c = nbdraw.Nbd(sock)
        if pipelined:
            c.send(struct.pack('>QII', nbdraw.OPTS_MAGIC, OPT['starttls'], 0)
                   + struct.pack('>QII', nbdraw.OPTS_MAGIC,
                                 OPT['structured-reply'], 0))
            assert c.reply(OPT['starttls'])[0] == REP_ACK
            c.handshake(*tls)
        else:
            c.opt(OPT['structured-reply'])
            assert c.reply(OPT['structured-reply'])[0] == ERR_TLS_REQD
            c.starttls(*tls)
        c.go('disk')
        err, data = c.read(0, 8)     # asserts a simple reply
        assert (err, data) == (0, b'TLS-ONLY'), (err, data)
        c.disconnect()
    ok('structured reply sent in clear (pipelined or refused) does not '
       'survive into TLS')

    # Not TLS after the STARTTLS ack: the handshake fails, the server hangs
    # up, and nothing of it is parsed as NBD.
    c = nbdraw.Nbd(sock)
    c.opt(OPT['starttls'])
    assert c.reply(OPT['starttls'])[0] == REP_ACK
    c.send(struct.pack('>QII', nbdraw.OPTS_MAGIC, OPT['go'], 0) * 4)
    assert c.closed(), 'cleartext after STARTTLS was answered'
    ok('cleartext instead of a TLS ClientHello: connection closed')
    still_served(sock)


if __name__ == '__main__':
    main()
