#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""QMP benchmark: object-add + object-del of a secret in lockstep over one
connection, Warden and qemu-storage-daemon side by side in one run, with
the ratio; plus the idle RSS of both daemons.

Usage: tests/bench/bench-qmp.py [WARDEN] [SECONDS] [ROUNDS]"""
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

WARDEN = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else 'build/warden')
SECS = float(sys.argv[2]) if len(sys.argv) > 2 else 3.0
ROUNDS = int(sys.argv[3]) if len(sys.argv) > 3 else 3
QSD = shutil.which('qemu-storage-daemon')


def start(argv, sock):
    p = subprocess.Popen(argv, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    for _ in range(200):
        if os.path.exists(sock):
            break
        time.sleep(0.025)
    s = socket.socket(socket.AF_UNIX)
    s.connect(sock)
    f = s.makefile('rwb')
    f.readline()
    f.write(b'{"execute":"qmp_capabilities"}\n')
    f.flush()
    f.readline()
    return p, s, f


def rss_kib(pid):
    with open('/proc/%d/status' % pid) as st:
        for line in st:
            if line.startswith('VmRSS:'):
                return int(line.split()[1])
    return 0


def lockstep(f, secs):
    n = 0
    end = time.perf_counter() + secs
    while time.perf_counter() < end:
        for _ in range(50):
            f.write(b'{"execute":"object-add","arguments":{"qom-type":'
                    b'"secret","id":"s0","data":"hunter2"}}\n')
            f.flush()
            r = f.readline()
            assert b'"return"' in r, r
            f.write(b'{"execute":"object-del","arguments":{"id":"s0"}}\n')
            f.flush()
            r = f.readline()
            assert b'"return"' in r, r
            n += 1
    return n


def main():
    tmp = tempfile.mkdtemp()
    daemons = {}
    try:
        ws = os.path.join(tmp, 'w.sock')
        daemons['warden'] = start([WARDEN, 'daemon', '--monitor',
                                   'unix:' + ws], ws)
        if QSD:
            qs = os.path.join(tmp, 'q.sock')
            daemons['qsd'] = start([QSD, '--chardev', 'socket,id=c,path=%s,'
                                    'server=on,wait=off' % qs, '--monitor',
                                    'chardev=c'], qs)
        time.sleep(0.5)
        rss = {k: rss_kib(v[0].pid) for k, v in daemons.items()}
        rate = {k: 0.0 for k in daemons}
        for r in range(ROUNDS):
            for k, (_, _, f) in daemons.items():
                t0 = time.perf_counter()
                n = lockstep(f, SECS)
                rate[k] += n / (time.perf_counter() - t0)
        print('%-8s %18s %14s' % ('daemon', 'add+del pairs/s', 'idle RSS KiB'))
        for k in daemons:
            print('%-8s %18.0f %14d' % (k, rate[k] / ROUNDS, rss[k]))
        if 'qsd' in daemons:
            print('warden/qsd throughput ratio: %.2fx' % (rate['warden'] /
                                                          rate['qsd']))
            print('warden/qsd idle RSS ratio:   %.2fx' % (rss['warden'] /
                                                          rss['qsd']))
    finally:
        for p, s, f in daemons.values():
            p.kill()
            p.wait()
        shutil.rmtree(tmp)


main()
