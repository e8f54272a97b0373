#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""QMP load: qmp-load.py SOCKET CLIENTS COMMANDS [--window W]

CLIENTS monitor connections at once on the unix SOCKET, each issuing
COMMANDS commands with W of them in flight (pipelined).  Every client owns
an authz-simple object az-<i>; its commands cycle through qom-set of the
identity to a fresh value, qom-get (must return exactly that value, so a
reply crossing clients or reordered within one is caught), query-version
(must equal the first answer) and a qom-get of a missing object (must be
an error).  Every reply must carry the id of its command, in order.
Prints a 'figure:' line with the command rate; exit 1 with the reason on
any failure."""
import argparse
import asyncio
import json
import sys
import time


class Fail(Exception):
    pass


async def readmsg(r):
    line = await r.readline()
    if not line:
        raise Fail('monitor closed the connection')
    return json.loads(line)


async def reply(r):
    while True:
        m = await readmsg(r)
        if 'event' not in m:
            return m


async def client(path, i, ncmds, window, version):
    r, w = await asyncio.open_unix_connection(path, limit=1 << 20)
    greeting = await readmsg(r)
    if 'QMP' not in greeting:
        raise Fail('client %d: bad greeting %r' % (i, greeting))
    w.write(b'{"execute":"qmp_capabilities"}\n')
    if (await reply(r)).get('return') != {}:
        raise Fail('client %d: qmp_capabilities failed' % i)
    obj = 'az-%d' % i
    w.write(json.dumps({'execute': 'object-add', 'arguments': {
        'qom-type': 'authz-simple', 'id': obj,
        'identity': 'CN=c%d-start' % i}}).encode() + b'\n')
    if (await reply(r)).get('return') != {}:
        raise Fail('client %d: object-add %s failed' % (i, obj))

    def command(n):
        k = n % 4
        ident = 'CN=c%d-%d' % (i, n - n % 4)
        if k == 0:
            return ('qom-set', {'path': '/objects/' + obj,
                                'property': 'identity', 'value': ident},
                    {'return': {}})
        if k == 1:
            return ('qom-get', {'path': '/objects/' + obj,
                                'property': 'identity'}, {'return': ident})
        if k == 2:
            return ('query-version', None, {'return': version})
        return ('qom-get', {'path': '/objects/nosuch-%d' % i,
                            'property': 'identity'}, None)

    expected = []
    sent = 0
    done = 0
    while done < ncmds:
        while sent < ncmds and sent - done < window:
            name, args, want = command(sent)
            req = {'execute': name, 'id': 'c%d-%d' % (i, sent)}
            if args:
                req['arguments'] = args
            w.write(json.dumps(req).encode() + b'\n')
            expected.append((req['id'], want))
            sent += 1
        m = await reply(r)
        rid, want = expected[done]
        if m.get('id') != rid:
            raise Fail('client %d: reply %r does not match command id %r'
                       % (i, m, rid))
        m.pop('id')
        if want is None:
            if 'error' not in m:
                raise Fail('client %d: %s: expected an error, got %r'
                           % (i, rid, m))
        elif m != want:
            raise Fail('client %d: %s: expected %r, got %r'
                       % (i, rid, want, m))
        done += 1
    w.write(json.dumps({'execute': 'object-del',
                        'arguments': {'id': obj}}).encode() + b'\n')
    if (await reply(r)).get('return') != {}:
        raise Fail('client %d: object-del %s failed' % (i, obj))
    w.close()
    await w.wait_closed()


async def run(a):
    r, w = await asyncio.open_unix_connection(a.socket)
    await readmsg(r)
    w.write(b'{"execute":"qmp_capabilities"}\n'
            b'{"execute":"query-version"}\n')
    await reply(r)
    version = (await reply(r))['return']
    w.close()
    t0 = time.monotonic()
    res = await asyncio.gather(*[client(a.socket, i, a.commands, a.window,
                                        version)
                                 for i in range(a.clients)],
                               return_exceptions=True)
    dt = time.monotonic() - t0
    bad = [x for x in res if isinstance(x, BaseException)]
    if bad:
        raise Fail('%d of %d QMP clients failed; first: %r'
                   % (len(bad), a.clients, bad[0]))
    total = a.clients * a.commands
    print('figure: qmp clients=%d commands=%d window=%d seconds=%.2f '
          'commands_per_s=%.0f' % (a.clients, total, a.window, dt,
                                   total / dt))


def main():
    p = argparse.ArgumentParser()
    p.add_argument('socket')
    p.add_argument('clients', type=int)
    p.add_argument('commands', type=int)
    p.add_argument('--window', type=int, default=8)
    a = p.parse_args()
    try:
        asyncio.run(run(a))
    except Fail as e:
        print('FAIL: ' + str(e), file=sys.stderr)
        sys.exit(1)


if __name__ == '__main__':
    main()
