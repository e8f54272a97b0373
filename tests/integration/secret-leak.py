#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""No secret leaves Warden, and none stays in its memory after use.

A daemon (WARDEN_LOG=debug) gets distinctive random secrets over QMP: an
inline secret, a base64 one, an AES-256-CBC one decrypted with a master
key read from a file, a PSK file, and the password of an encrypted x509
key. Each is used (a TLS NBD client connects), wrong values provoke
errors, every object is deleted, and then:
- /proc/PID/cmdline, the log, every QMP reply and error hold no secret;
- a core of the live process (gcore) holds none, in raw, hex or base64.

Usage: secret-leak.py WARDEN TMPDIR.  Exit 77 = skip (no gcore/certtool)."""
import base64
import os
import re
import secrets
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from wardentest import ok, Qmp, wait_path  # noqa: E402

WARDEN, TMP = sys.argv[1], sys.argv[2]


def run(*argv):
    return subprocess.run(argv, capture_output=True, timeout=60,
                          check=True).stdout


def forms(value):
    """The byte strings whose presence betrays @value."""
    out = {value, value.hex().encode(), base64.b64encode(value)}
    if len(value) >= 32:
        # a freed block keeps all but its first 16 bytes (malloc's links)
        out.add(value[-16:])
        if value.isascii():     # UCS-4, as libunistring normalizes it
            out.add(value.decode().encode('utf-32-le')[-64:])
    # base64 at any alignment: the 3 shifted encodings, trimmed of the
    # characters that depend on neighbouring bytes.
    for shift in range(3):
        b = base64.b64encode(b'\0' * shift + value)
        out.add(b[4 if shift else 0:-4])
    return [f for f in out if len(f) >= 12]


def main():
    for tool in ('gcore', 'certtool', 'qemu-img', 'openssl'):
        if not shutil.which(tool):
            print('SKIP: %s not installed' % tool)
            sys.exit(77)
    os.chdir(TMP)
    # Distinctive values: random, printable where a password must be.
    inline = ('inl-' + secrets.token_hex(16)).encode()
    b64val = ('b64-' + secrets.token_hex(16)).encode()
    master = secrets.token_bytes(32)
    crypted = ('aes-' + secrets.token_hex(16)).encode()
    psk = secrets.token_bytes(32)
    keypw = ('kpw-' + secrets.token_hex(16)).encode()
    wrongpw = ('wpw-' + secrets.token_hex(16)).encode()
    last = ('last-' + secrets.token_hex(16)).encode()
    short = ('sh-' + secrets.token_hex(6)).encode()     # 15 bytes
    wrongaes = ('w' + secrets.token_hex(7)).encode()  # one block
    named = {'inline': inline, 'base64': b64val, 'master key': master,
             'decrypted': crypted, 'psk': psk, 'key password': keypw,
             'wrong password': wrongpw, 'wrong aes plaintext': wrongaes, 'last': last,
             'short': short}

    with open('master.key', 'w') as f:
        f.write(base64.b64encode(master).decode() + '\n')
    iv = secrets.token_bytes(16)

    def encrypt(plain):
        return subprocess.run(['openssl', 'enc', '-aes-256-cbc', '-a', '-A',
                               '-K', master.hex(), '-iv', iv.hex()],
                              input=plain, capture_output=True,
                              check=True).stdout.decode().strip()
    os.makedirs('psk-srv')
    os.makedirs('psk-cli')
    for d in ('psk-srv', 'psk-cli'):
        with open(d + '/keys.psk', 'w') as f:
            f.write('alice:%s\n' % psk.hex())
    run(WARDEN, 'certs', 'create', 'pki')
    run('certtool', '--to-p8', '--load-privkey', 'pki/server-key.pem',
        '--password', keypw.decode(), '--outfile', 'enc-key.pem')
    os.makedirs('pki-enc')
    for f in ('ca-cert.pem', 'server-cert.pem'):
        shutil.copy('pki/' + f, 'pki-enc/' + f)
    shutil.copy('enc-key.pem', 'pki-enc/server-key.pem')
    with open('disk.img', 'wb') as f:
        f.truncate(1 << 20)

    qmp_sock = os.path.join(TMP, 'qmp.sock')
    nbd_sock = os.path.join(TMP, 'nbd.sock')
    log = open('daemon.log', 'wb')
    env = dict(os.environ, WARDEN_LOG='debug')
    # meson sets MALLOC_PERTURB_, which wipes every freed block: without
    # it, only Warden's own wiping can pass.  ASan ignores mallopt
    # (M_PERTURB, used while gnutls decrypts a key): fill freed blocks
    # there, so that its quarantine is checked for live copies only.
    env.pop('MALLOC_PERTURB_', None)
    env['ASAN_OPTIONS'] = ':'.join(filter(None, [
        env.get('ASAN_OPTIONS'), 'max_free_fill_size=1048576',
        'free_fill_byte=92']))
    d = subprocess.Popen([WARDEN, 'daemon', '--monitor', 'unix:' + qmp_sock,
                          '--object', 'secret,id=m0,format=base64,'
                          'file=master.key',
                          '--blockdev', 'driver=file,node-name=d0,'
                          'filename=disk.img'],
                         stdout=log, stderr=subprocess.STDOUT, env=env)
    try:
        wait_path(qmp_sock, d)
        q = Qmp(qmp_sock, timeout=30)
        scenario(q, d.pid, nbd_sock, inline, b64val, crypted, keypw,
                 wrongpw, wrongaes, last, short, iv, encrypt)
        check_core(d.pid, named)
        replies = b''.join(q.raw)
        with open('/proc/%d/cmdline' % d.pid, 'rb') as f:
            cmdline = f.read()
        q.s.close()
    finally:
        d.terminate()
        d.wait(timeout=30)
        log.close()
    with open('daemon.log', 'rb') as f:
        logged = f.read()
    assert logged, 'WARDEN_LOG=debug logged nothing'
    for where, blob in (('argv', cmdline), ('QMP replies', replies),
                        ('log', logged)):
        for name, value in named.items():
            for form in forms(value):
                assert form not in blob, '%s found in %s' % (name, where)
    assert b'master.key' in cmdline
    ok('no secret in argv, the debug log or any QMP reply')


def scenario(q, pid, nbd_sock, inline, b64val, crypted, keypw, wrongpw,
             wrongaes, last, short, iv, encrypt):
    def good(name, args=None):
        r = q.cmd(name, args)
        assert 'return' in r, (name, r)
        return r['return']

    def bad(name, args, want):
        r = q.cmd(name, args)
        assert 'error' in r and want in r['error']['desc'], (name, r)

    iv64 = base64.b64encode(iv).decode()
    good('object-add', {'qom-type': 'secret', 'id': 's-inline',
                        'data': inline.decode()})
    good('object-add', {'qom-type': 'secret', 'id': 's-b64',
                        'format': 'base64',
                        'data': base64.b64encode(b64val).decode()})
    good('object-add', {'qom-type': 'secret', 'id': 's-aes', 'keyid': 'm0',
                        'format': 'base64', 'iv': iv64,
                        'data': encrypt(crypted)})
    # Wrong IV: the padding byte decrypts to 0x41; the error must not
    # show the plaintext.
    badiv = base64.b64encode(iv[:15] + bytes([iv[15] ^ 0x40])).decode()
    bad('object-add', {'qom-type': 'secret', 'id': 's-bad', 'keyid': 'm0',
                       'format': 'base64', 'iv': badiv,
                       'data': encrypt(wrongaes)},
        'padding')
    # A 'data' next to an unknown key: the parse error must not echo it.
    bad('object-add', {'qom-type': 'secret', 'id': 's-x',
                       'data': wrongaes.decode(), 'bogus': 1}, 'bogus')
    bad('object-add', {'qom-type': 'secret', 'id': 's-x', 'keyid': 's-b64',
                       'iv': iv64, 'data': wrongaes.decode()},
        'Key should be 32 bytes')
    # Malformed JSON around a secret: the parse error must not quote it
    # (jansson quotes tokens of up to 20 bytes: a short password).
    for tail, want in ((b'\\q"}}', 'invalid escape'),
                       (b'\x01"}}', 'control character'),
                       (b'\\ud800"}}', 'invalid Unicode')):
        q.f.write(b'{"execute": "object-add", "arguments": {"qom-type": '
                  b'"secret", "id": "s-x", "data": "' + short + tail +
                  b'\n')
        q.f.flush()
        r = q.read()
        assert want in r['error']['desc'], r
    # Reading secrets back over QMP is impossible.
    for sid in ('s-inline', 's-b64', 's-aes', 'm0'):
        r = q.cmd('qom-get', {'path': '/objects/' + sid, 'property': 'data'})
        assert 'error' in r or r['return'] in (None, ''), r
    q.cmd('qom-list', {'path': '/objects/s-inline'})
    q.cmd('query-objects')
    bad('object-del', {'id': 'm0'}, "in use by 's-aes'")
    # Wrong key password, then the right one; used by a real TLS client.
    good('object-add', {'qom-type': 'secret', 'id': 'pw-bad',
                        'data': wrongpw.decode()})
    bad('object-add', {'qom-type': 'tls-creds-x509', 'id': 'x-bad',
                       'endpoint': 'server', 'dir': 'pki-enc',
                       'passwordid': 'pw-bad'}, 'server-key.pem')
    good('object-add', {'qom-type': 'secret', 'id': 'pw',
                        'data': keypw.decode()})
    good('object-add', {'qom-type': 'tls-creds-x509', 'id': 'x0',
                        'endpoint': 'server', 'dir': 'pki-enc',
                        'passwordid': 'pw'})
    good('object-add', {'qom-type': 'tls-creds-psk', 'id': 'p0',
                        'endpoint': 'server', 'dir': 'psk-srv'})
    for creds, client in (('x0', 'tls-creds-x509,id=t,endpoint=client,'
                           'dir=pki'),
                          ('p0', 'tls-creds-psk,id=t,endpoint=client,'
                           'dir=psk-cli,username=alice')):
        good('nbd-server-start', {'addr': {'type': 'unix', 'data': {
            'path': nbd_sock}}, 'tls-creds': creds})
        good('block-export-add', {'type': 'nbd', 'id': 'e0',
                                  'node-name': 'd0', 'name': 'disk'})
        out = run('qemu-img', 'info', '--object', client, '--image-opts',
                  'driver=nbd,server.type=unix,server.path=%s,export=disk,'
                  'tls-creds=t,tls-hostname=localhost' % nbd_sock)
        assert b'virtual size: 1 MiB' in out, out
        good('block-export-del', {'id': 'e0', 'mode': 'hard'})
        for _ in range(100):
            if not good('query-block-exports'):
                break
            time.sleep(0.05)
        good('nbd-server-stop')
    for oid in ('x0', 'p0', 'pw', 'pw-bad', 's-inline', 's-b64', 's-aes',
                'm0'):
        good('object-del', {'id': oid})
    assert [o['name'] for o in good('qom-list', {'path': '/objects'})
            if o['name'] in ('pw', 's-aes', 'p0', 'm0')] == [], 'objects left'
    # Last: a secret whose command text is longer than anything after it,
    # so only wiping (not reuse) can remove it from the QMP buffers.
    good('object-add', {'qom-type': 'secret', 'id': 'z',
                        'data': last.decode()})
    good('object-del', {'id': 'z'})
    ok('secrets created over QMP, used by TLS clients, then deleted')


def live_memory(pid):
    """What a core dump holds, read from /proc/PID/mem: every readable
    mapping the kernel would dump (not VmFlags 'dd'). For sanitizer builds,
    whose terabytes of shadow gcore cannot get through in time."""
    out = []
    with open('/proc/%d/smaps' % pid) as f:
        regions, rng = [], None
        for line in f:
            if line.startswith('VmFlags:'):
                if 'dd' not in line.split()[1:] and rng:
                    regions.append(rng)
            elif '-' in line.split()[0] and not line.endswith(':'):
                lo, hi = line.split()[0].split('-')
                perms = line.split()[1]
                rng = (int(lo, 16), int(hi, 16)) if perms[0] == 'r' and \
                    not line.rstrip().endswith('[vvar]') else None
    with open('/proc/%d/mem' % pid, 'rb', 0) as m:
        for lo, hi in regions:
            try:
                m.seek(lo)
                out.append(m.read(hi - lo))
            except OSError:
                pass
    return b''.join(out)


def check_core(pid, named):
    core = os.path.join(TMP, 'core')
    path = '%s.%d' % (core, pid)
    with open('/proc/%d/maps' % pid) as f:
        sanitized = 'libasan' in f.read()
    if sanitized:
        mem = live_memory(pid)
    else:
        subprocess.run(['gcore', '-o', core, str(pid)], capture_output=True,
                       timeout=120, check=True)
        with open(path, 'rb') as f:
            mem = f.read()
    assert len(mem) > 100000, 'core too small'
    owner = {}
    for name, value in named.items():
        for form in forms(value):
            owner[form] = name
    found = ['%s (%r at core offset %d)' % (owner[m.group()], m.group()[:8],
                                            m.start())
             for m in re.finditer(b'|'.join(map(re.escape, owner)), mem)]
    if found and not sanitized:
        print('core kept: ' + path)
    elif not sanitized:
        os.unlink(path)
    assert not found, 'secrets in the memory of the live process (%d MB): ' \
        % (len(mem) >> 20) + ', '.join(found)
    ok('no secret in a core of the live process after object-del')


if __name__ == '__main__':
    main()
