# SPDX-License-Identifier: GPL-2.0-or-later
"""A raw NBD client for tests that must misbehave on purpose: byte-exact
options, STARTTLS by hand, half-sent requests. Imported by the fault and
downgrade scripts; see /work/shared/ref/nbd.md for the wire format."""
import socket
import ssl
import struct

OPTS_MAGIC = 0x49484156454F5054       # 'IHAVEOPT'
REP_MAGIC = 0x3E889045565A9
REQ_MAGIC = 0x25609513
SIMPLE_MAGIC = 0x67446698
CHUNK_MAGIC = 0x668E33EF
OPT = {'export-name': 1, 'abort': 2, 'list': 3, 'starttls': 5, 'info': 6,
       'go': 7, 'structured-reply': 8, 'list-meta-context': 9,
       'set-meta-context': 10, 'extended-headers': 11}
REP_ACK, REP_INFO = 1, 3
ERR_INVALID, ERR_TLS_REQD = 0x80000003, 0x80000005
CMD_READ, CMD_WRITE, CMD_DISC, CMD_FLUSH = 0, 1, 2, 3
CMD_FLAG_FUA = 1
ENOSPC, EPERM, EIO, EINVAL, ESHUTDOWN = 28, 1, 5, 22, 108


class Closed(Exception):
    pass


class BioTls:
    """TLS over memory BIOs on a raw socket, so that a test can send part
    of a TLS record: pending() returns the encrypted bytes not sent yet."""

    def __init__(self, raw, ctx, hostname):
        self.raw = raw
        self.inc, self.out = ssl.MemoryBIO(), ssl.MemoryBIO()
        self.obj = ctx.wrap_bio(self.inc, self.out, server_hostname=hostname)
        while True:
            try:
                self.obj.do_handshake()
                break
            except ssl.SSLWantReadError:
                self._pump()
        self.raw.sendall(self.out.read())

    def _pump(self):
        self.raw.sendall(self.out.read())
        b = self.raw.recv(65536)
        if not b:
            raise Closed('server closed during TLS')
        self.inc.write(b)

    def encrypt(self, data):
        self.obj.write(data)
        return self.out.read()

    def sendall(self, data):
        self.raw.sendall(self.encrypt(data))

    def recv(self, n):
        while True:
            try:
                return self.obj.read(n)
            except ssl.SSLWantReadError:
                try:
                    self._pump()
                except Closed:
                    return b''

    def close(self):
        self.raw.close()


class Nbd:
    def __init__(self, addr, timeout=20):
        fam = socket.AF_UNIX if isinstance(addr, str) else socket.AF_INET
        self.s = socket.socket(fam)
        self.s.settimeout(timeout)
        self.s.connect(addr)
        self.raw = self.s
        magic, opt, flags = struct.unpack('>QQH', self.recv(18))
        assert (magic, opt) == (0x4E42444D41474943, OPTS_MAGIC), hex(magic)
        self.sflags = flags
        self.send(struct.pack('>I', 3))   # fixed newstyle, no zeroes

    def send(self, b):
        self.s.sendall(b)

    def recv(self, n):
        out = b''
        while len(out) < n:
            b = self.s.recv(n - len(out))
            if not b:
                raise Closed('server closed after %d of %d bytes' %
                             (len(out), n))
            out += b
        return out

    def closed(self):
        """True if the server hung up (EOF or reset) with nothing sent."""
        try:
            return self.s.recv(1) == b''
        except (ConnectionResetError, ssl.SSLError):
            return True

    # ---- options -------------------------------------------------------
    def opt(self, code, data=b''):
        self.send(struct.pack('>QII', OPTS_MAGIC, code, len(data)) + data)

    def reply(self, code):
        magic, opt, rtype, ln = struct.unpack('>QIII', self.recv(20))
        assert magic == REP_MAGIC and opt == code, (hex(magic), opt, code)
        return rtype, self.recv(ln)

    def starttls(self, ca, cert, key, hostname='localhost', bio=False):
        self.opt(OPT['starttls'])
        assert self.reply(OPT['starttls'])[0] == REP_ACK
        self.handshake(ca, cert, key, hostname, bio)

    def handshake(self, ca, cert, key, hostname='localhost', bio=False):
        ctx = ssl.create_default_context(cafile=ca)
        ctx.load_cert_chain(cert, key)
        self.s = BioTls(self.raw, ctx, hostname) if bio else \
            ctx.wrap_socket(self.raw, server_hostname=hostname)

    def go(self, name, opt='go'):
        """NBD_OPT_GO (or INFO); returns (size, transmission flags)."""
        nm = name.encode()
        self.opt(OPT[opt], struct.pack('>I', len(nm)) + nm +
                 struct.pack('>H', 0))
        size = flags = None
        while True:
            rtype, data = self.reply(OPT[opt])
            if rtype == REP_ACK:
                return size, flags
            if rtype != REP_INFO:
                raise AssertionError('%s failed: 0x%x %r' %
                                     (opt, rtype, data[4:]))
            if struct.unpack('>H', data[:2])[0] == 0:
                size, flags = struct.unpack('>QH', data[2:12])

    # ---- transmission (simple replies) ---------------------------------
    def request(self, cmd, handle, offset=0, length=0, data=b'', flags=0):
        self.send(struct.pack('>IHHQQI', REQ_MAGIC, flags, cmd, handle,
                              offset, length) + data)

    def simple_reply(self, read_len=0):
        """(errno, handle, data) of the next simple reply."""
        magic, err, handle = struct.unpack('>IIQ', self.recv(16))
        assert magic == SIMPLE_MAGIC, hex(magic)
        return err, handle, self.recv(read_len) if not err else b''

    def write(self, offset, data, flags=0, handle=1):
        self.request(CMD_WRITE, handle, offset, len(data), data, flags)
        return self.simple_reply()[0]

    def read(self, offset, length, handle=2):
        self.request(CMD_READ, handle, offset, length)
        err, _, data = self.simple_reply(length)
        return err, data

    def disconnect(self):
        self.request(CMD_DISC, 0)
        self.s.close()


def connect(addr, export='', tls=None, bio=False):
    """A connected client in transmission: tls=(ca, cert, key) or None;
    bio: TLS through BioTls (partial records possible)."""
    c = Nbd(addr)
    if tls:
        c.starttls(*tls, bio=bio)
    c.size, c.flags = c.go(export)
    return c
