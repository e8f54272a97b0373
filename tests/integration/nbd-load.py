#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""NBD load generator for Warden's load tests: a hand-written asyncio
NBD client (fixed newstyle, NBD_OPT_STARTTLS, NBD_OPT_GO, NBD_CMD_READ).

  nbd-load.py clients ADDR EXPORT IMAGE N READS [--tls PKI] [--pid PID]
                    [--parallel K]
      N clients connect (K handshakes in flight at a time, default 64: a
      burst of 1000 TLS handshakes at once takes longer than the server's
      handshake limit on a 2-core machine), stay idle (server RSS of PID is
      measured), then
      each does READS small reads checked against IMAGE.  Every client
      must be served correctly.
  nbd-load.py slowloris ADDR EXPORT IMAGE FLOOD LIMIT SECONDS [--tls PKI]
      FLOOD connections that never finish the handshake (silent, dribbling
      bytes, or stalled after STARTTLS; each one shed is replaced at once,
      from a child process: 'flood') while real clients connect, read and
      leave for SECONDS; every flood connection must be closed by the
      server after LIMIT (its handshake-max-seconds), not before, and
      each real client must be served within --max-latency.
  nbd-load.py hold ADDR EXPORT N SECONDS [--tls PKI]
      N clients connect one after the other, print 'holding N', stay
      connected (idle) for SECONDS, then disconnect.

ADDR is HOST:PORT or unix:PATH.  Figures are printed as 'figure: ...'
lines; exit 1 with the reason on any failure."""
import asyncio
import os
import random
import ssl
import struct
import sys
import time

NBDMAGIC = 0x4e42444d41474943
IHAVEOPT = 0x49484156454F5054
REPMAGIC = 0x3e889045565a9
OPT_STARTTLS, OPT_GO = 5, 7
REP_ACK, REP_INFO = 1, 3
REQ_MAGIC, SIMPLE_MAGIC = 0x25609513, 0x67446698
CMD_READ, CMD_DISC = 0, 2


class Fail(Exception):
    pass


def die(msg):
    print('FAIL: ' + msg, file=sys.stderr)
    sys.exit(1)


def rss_kib(pid):
    with open('/proc/%d/status' % pid) as f:
        for line in f:
            if line.startswith('VmRSS:'):
                return int(line.split()[1])
    raise Fail('no VmRSS for pid %d' % pid)


def tls_context(pki):
    ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH,
                                     cafile=os.path.join(pki, 'ca-cert.pem'))
    ctx.load_cert_chain(os.path.join(pki, 'client-cert.pem'),
                        os.path.join(pki, 'client-key.pem'))
    return ctx


async def open_conn(addr):
    if addr.startswith('unix:'):
        return await asyncio.open_unix_connection(addr[5:])
    host, port = addr.rsplit(':', 1)
    return await asyncio.open_connection(host, int(port))


def opt(code, data=b''):
    return struct.pack('>QII', IHAVEOPT, code, len(data)) + data


async def read_rep(r, code):
    magic, o, typ, ln = struct.unpack('>QIII', await r.readexactly(20))
    if magic != REPMAGIC or o != code:
        raise Fail('bad option reply magic %x option %d' % (magic, o))
    data = await r.readexactly(ln)
    if typ & 0x80000000:
        raise Fail('option %d refused: error %#x %r' % (code, typ, data))
    return typ, data


class Client:
    """One NBD connection in the transmission phase."""

    @classmethod
    async def connect(cls, addr, export, ctx):
        self = cls()
        r, w = await open_conn(addr)
        self.r, self.w = r, w
        magic, opt_magic, _flags = struct.unpack('>QQH',
                                                  await r.readexactly(18))
        if magic != NBDMAGIC or opt_magic != IHAVEOPT:
            raise Fail('not a fixed-newstyle NBD server')
        w.write(struct.pack('>I', 3))        # FIXED_NEWSTYLE | NO_ZEROES
        if ctx:
            w.write(opt(OPT_STARTTLS))
            typ, _ = await read_rep(r, OPT_STARTTLS)
            if typ != REP_ACK:
                raise Fail('STARTTLS: reply type %d' % typ)
            await w.start_tls(ctx, server_hostname='localhost')
        name = export.encode()
        w.write(opt(OPT_GO, struct.pack('>I', len(name)) + name +
                    struct.pack('>H', 0)))
        self.size = None
        while True:
            typ, data = await read_rep(r, OPT_GO)
            if typ == REP_ACK:
                break
            if typ == REP_INFO and struct.unpack('>H', data[:2])[0] == 0:
                self.size, self.eflags = struct.unpack('>QH', data[2:12])
        if self.size is None:
            raise Fail('NBD_OPT_GO: no NBD_INFO_EXPORT')
        self.cookie = 0
        return self

    async def read(self, off, ln):
        self.cookie += 1
        self.w.write(struct.pack('>IHHQQI', REQ_MAGIC, 0, CMD_READ,
                                 self.cookie, off, ln))
        magic, err, cookie = struct.unpack('>IIQ',
                                           await self.r.readexactly(16))
        if magic != SIMPLE_MAGIC or cookie != self.cookie or err:
            raise Fail('READ %d+%d: magic %x error %d cookie %d (sent %d)'
                       % (off, ln, magic, err, cookie, self.cookie))
        return await self.r.readexactly(ln)

    async def close(self):
        self.w.write(struct.pack('>IHHQQI', REQ_MAGIC, 0, CMD_DISC, 0, 0, 0))
        try:
            await self.w.drain()
            self.w.close()
            await self.w.wait_closed()
        except (ConnectionError, ssl.SSLError):
            pass


async def verified_reads(c, image, n, rng):
    for _ in range(n):
        ln = rng.choice((512, 1024, 4096))
        off = rng.randrange(0, len(image) - ln + 1, 512)
        data = await c.read(off, ln)
        if data != image[off:off + ln]:
            raise Fail('READ %d+%d returned wrong data' % (off, ln))


def pct(vals, p):
    vals = sorted(vals)
    return vals[min(len(vals) - 1, int(len(vals) * p / 100))]


async def run_clients(a):
    ctx = tls_context(a.tls) if a.tls else None
    image = open(a.image, 'rb').read()
    base = rss_kib(a.pid) if a.pid else 0
    t0 = time.monotonic()
    sem = asyncio.Semaphore(a.parallel)

    async def connect():
        async with sem:                 # handshakes in flight at once
            return await Client.connect(a.addr, a.export, ctx)
    res = await asyncio.gather(*[connect() for _ in range(a.n)],
                               return_exceptions=True)
    t_conn = time.monotonic() - t0
    bad = [e for e in res if isinstance(e, BaseException)]
    clients = [c for c in res if not isinstance(c, BaseException)]
    if bad:
        for c in clients:
            await c.close()
        raise Fail('%d of %d clients could not connect; first: %r'
                   % (len(bad), a.n, bad[0]))
    for c in clients:
        if c.size != len(image):
            raise Fail('export size %d, image has %d' % (c.size, len(image)))
    await asyncio.sleep(0.5)            # let the server settle
    idle = rss_kib(a.pid) if a.pid else 0
    t1 = time.monotonic()
    res = await asyncio.gather(*[verified_reads(c, image, a.reads,
                                                random.Random(i))
                                 for i, c in enumerate(clients)],
                               return_exceptions=True)
    t_read = time.monotonic() - t1
    bad = [e for e in res if isinstance(e, BaseException)]
    for c in clients:
        await c.close()
    if bad:
        raise Fail('%d of %d clients failed their reads; first: %r'
                   % (len(bad), a.n, bad[0]))
    kind = 'tls' if ctx else 'plain'
    print('figure: %s clients=%d connect_s=%.2f reads=%d read_s=%.2f '
          'reads_per_s=%.0f' % (kind, a.n, t_conn, a.n * a.reads, t_read,
                                a.n * a.reads / max(t_read, 1e-6)))
    if a.pid:
        print('figure: %s rss_baseline_kib=%d rss_idle_kib=%d '
              'rss_per_idle_conn_kib=%.1f' % (kind, base, idle,
                                              (idle - base) / a.n))


async def flood_one(addr, kind, ctx, limit):
    """A connection that never finishes its handshake; returns the seconds
    until the server closed it (None: still open at the deadline;
    'refused': closed before the greeting)."""
    t0 = time.monotonic()       # before connect(): a lower bound on the
    r, w = await open_conn(addr)  # time since the server accepted
    deadline = t0 + limit + 8
    try:
        try:
            await r.readexactly(18)        # the server's greeting
        except (ConnectionError, asyncio.IncompleteReadError):
            return 'refused'               # max-connections, not the timer
        if kind == 'stall-tls':
            w.write(struct.pack('>I', 3) + opt(OPT_STARTTLS))
            await read_rep(r, OPT_STARTTLS)
            # Never send a ClientHello.
        if kind == 'dribble':
            # Valid bytes, one every 0.25 s: flags, then an option header.
            payload = struct.pack('>I', 3) + opt(OPT_GO, b'\0' * 200)
            for b in payload:
                w.write(bytes([b]))
                try:
                    await asyncio.wait_for(r.read(1), 0.25)
                    break                  # EOF or data: the server acted
                except asyncio.TimeoutError:
                    pass
                if time.monotonic() > deadline:
                    return None
        left = deadline - time.monotonic()
        try:
            while True:
                d = await asyncio.wait_for(r.read(4096), max(left, 0.01))
                if not d:
                    break
        except asyncio.TimeoutError:
            return None
    except (ConnectionError, asyncio.IncompleteReadError):
        pass
    finally:
        w.close()
    return time.monotonic() - t0


async def real_client(a, ctx, image, rng):
    t0 = time.monotonic()
    c = await asyncio.wait_for(Client.connect(a.addr, a.export, ctx), 30)
    await verified_reads(c, image, 4, rng)
    await c.close()
    return time.monotonic() - t0


async def run_flood(a):
    """Child of run_slowloris: keeps FLOOD never-finishing connections
    open for SECONDS (each one shed is replaced at once), then prints the
    shed times as JSON (null: the server never closed it)."""
    import json
    ctx = tls_context(a.tls) if a.tls else None
    kinds = ['silent', 'dribble'] + (['stall-tls'] if ctx else [])
    end = time.monotonic() + a.seconds
    shed = []

    async def slot(i):
        while time.monotonic() < end:
            try:
                shed.append(await flood_one(a.addr, kinds[i % len(kinds)],
                                            ctx, a.limit))
            except OSError as e:
                shed.append('%r' % e)
    print('started', flush=True)
    await asyncio.gather(*[slot(i) for i in range(a.flood)])
    print(json.dumps({'kinds': kinds, 'shed': shed}), flush=True)


async def run_slowloris(a):
    """The flood runs in its own process, so that its 1000 connections do
    not slow down this event loop and with it the real clients' timing."""
    import json
    ctx = tls_context(a.tls) if a.tls else None
    image = open(a.image, 'rb').read()
    child = await asyncio.create_subprocess_exec(
        sys.executable, __file__, 'flood', a.addr, str(a.flood),
        str(a.limit), str(a.seconds), *(['--tls', a.tls] if a.tls else []),
        stdout=asyncio.subprocess.PIPE)
    if (await child.stdout.readline()).strip() != b'started':
        raise Fail('the flood process did not start')
    await asyncio.sleep(0.5)
    lat = []
    rng = random.Random(1)
    end = time.monotonic() + a.seconds
    try:
        while time.monotonic() < end:
            batch = await asyncio.gather(*[real_client(a, ctx, image, rng)
                                           for _ in range(4)],
                                         return_exceptions=True)
            for x in batch:
                if isinstance(x, BaseException):
                    raise Fail('a real client failed during the flood, '
                               'after %d served: %r' % (len(lat), x))
                lat.append(x)
    finally:
        out, _ = await child.communicate()
    if child.returncode:
        raise Fail('the flood process failed (exit %d)' % child.returncode)
    res = json.loads(out)
    shed = [x for x in res['shed'] if x != 'refused']
    refused = len(res['shed']) - len(shed)
    errs = [x for x in shed if isinstance(x, str)]
    if errs:
        raise Fail('%d flood connections failed oddly; first: %s'
                   % (len(errs), errs[0]))
    open_ = sum(1 for x in shed if x is None)
    times = [x for x in shed if x is not None]
    print('figure: slowloris flood=%d at once, %d connections in %.0f s, '
          'kinds=%s: shed=%d still_open=%d refused_at_limit=%d '
          'shed_after_s_min=%.2f max=%.2f (limit %d s)'
          % (a.flood, len(shed) + refused, a.seconds, '+'.join(res['kinds']),
             len(times), open_, refused, min(times) if times else 0,
             max(times) if times else 0, a.limit))
    print('figure: slowloris real_clients=%d latency_s_p50=%.3f p99=%.3f '
          'max=%.3f' % (len(lat), pct(lat, 50), pct(lat, 99), max(lat)))
    if open_:
        raise Fail('%d of %d flood connections were not closed by the '
                   'server within %d s + 8 s' % (open_, len(shed), a.limit))
    early = [x for x in times if x < a.limit - 0.5]
    if early:
        raise Fail('%d flood connections closed after %.2f s, before the '
                   '%d s handshake limit' % (len(early), min(early), a.limit))
    if max(lat) > a.max_latency:
        raise Fail('a real client took %.2f s during the flood (bound %.1f)'
                   % (max(lat), a.max_latency))


async def run_hold(a):
    ctx = tls_context(a.tls) if a.tls else None
    clients = [await Client.connect(a.addr, a.export, ctx)
               for _ in range(a.n)]
    print('holding %d' % len(clients), flush=True)
    await asyncio.sleep(a.seconds)
    for c in clients:
        await c.close()


def main():
    import argparse
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest='cmd', required=True)
    c = sub.add_parser('clients')
    for x in ('addr', 'export', 'image'):
        c.add_argument(x)
    c.add_argument('n', type=int)
    c.add_argument('reads', type=int)
    c.add_argument('--tls')
    c.add_argument('--pid', type=int)
    c.add_argument('--parallel', type=int, default=64)
    s = sub.add_parser('slowloris')
    for x in ('addr', 'export', 'image'):
        s.add_argument(x)
    s.add_argument('flood', type=int)
    s.add_argument('limit', type=int)
    s.add_argument('seconds', type=float)
    s.add_argument('--tls')
    s.add_argument('--max-latency', type=float, default=3.0)
    f = sub.add_parser('flood')
    f.add_argument('addr')
    f.add_argument('flood', type=int)
    f.add_argument('limit', type=int)
    f.add_argument('seconds', type=float)
    f.add_argument('--tls')
    h = sub.add_parser('hold')
    h.add_argument('addr')
    h.add_argument('export')
    h.add_argument('n', type=int)
    h.add_argument('seconds', type=float)
    h.add_argument('--tls')
    a = p.parse_args()
    try:
        asyncio.run({'clients': run_clients, 'slowloris': run_slowloris,
                     'hold': run_hold, 'flood': run_flood}[a.cmd](a))
    except Fail as e:
        die(str(e))


if __name__ == '__main__':
    main()
