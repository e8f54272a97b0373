#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Recording relay for capture-seeds.sh, and the seed splitter.

  capture-relay.py LISTEN UPSTREAM RECDIR
      Accepts on unix socket LISTEN, connects each client to UPSTREAM and
      copies both ways, writing what the client and the server sent to
      RECDIR/<tag>-<n>.c2s and .s2c (<n> counts the tag's connections).
      <tag> is read from the file "tag" next to RECDIR on each accept.
  capture-relay.py --split TMP CORPUS
      Turns every recording under TMP/rec-*/ into seeds: tags starting
      with "s-" into nbd-client seeds (server bytes), the others into
      nbd-handshake and nbd-transmit seeds (client bytes).
"""
import glob
import os
import socket
import struct
import sys
import threading

OPTS_MAGIC = 0x49484156454F5054
OPT_EXPORT_NAME, OPT_ABORT, OPT_GO, OPT_STRUCTURED = 1, 2, 7, 8
OPT_EXTENDED_HEADERS = 11
MAX_SEED = 16 * 1024


def pump(src, dst, out):
    with open(out, "wb") as f:
        while True:
            try:
                data = src.recv(65536)
            except OSError:
                data = b""
            if not data:
                break
            f.write(data)
            try:
                dst.sendall(data)
            except OSError:
                break
    try:
        dst.shutdown(socket.SHUT_WR)
    except OSError:
        pass


def relay(listen, upstream, recdir):
    os.makedirs(recdir, exist_ok=True)
    tagfile = os.path.join(os.path.dirname(recdir), "tag")
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(listen)
    srv.listen(16)
    seen = {}
    while True:
        cli, _ = srv.accept()
        up = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        up.connect(upstream)
        with open(tagfile) as f:
            tag = f.read().strip()
        seen[tag] = seen.get(tag, 0) + 1
        base = os.path.join(recdir, "%s-%d" % (tag, seen[tag]))
        for a, b, ext in ((cli, up, ".c2s"), (up, cli, ".s2c")):
            threading.Thread(target=pump, args=(a, b, base + ext),
                             daemon=True).start()


def negotiation(c2s):
    """(how, offset of the first request) for the transmit target, or
    None if the client never finished negotiating in a way it supports."""
    how, off = 0, 4
    while off + 16 <= len(c2s):
        magic, opt, length = struct.unpack_from(">QII", c2s, off)
        if magic != OPTS_MAGIC:
            return None
        off += 16 + length
        if opt == OPT_STRUCTURED:
            how |= 1
        elif opt == OPT_EXTENDED_HEADERS:
            return None         # requests in a format the target lacks
        elif opt == OPT_EXPORT_NAME:
            return how | 4, off
        elif opt == OPT_GO:
            return how, off
        elif opt == OPT_ABORT:
            return None
    return None


def write_seed(path, data):
    with open(path, "wb") as f:
        f.write(data[:MAX_SEED])


def split(tmp, corpus):
    for d in ("nbd-handshake", "nbd-transmit", "nbd-client"):
        os.makedirs(os.path.join(corpus, d), exist_ok=True)
    count = 0
    for c2s_path in sorted(glob.glob(os.path.join(tmp, "rec-*", "*.c2s"))):
        name = os.path.basename(c2s_path)[:-4]
        with open(c2s_path, "rb") as f:
            c2s = f.read()
        with open(c2s_path[:-4] + ".s2c", "rb") as f:
            s2c = f.read()
        if not c2s or not s2c:
            continue
        if name.startswith("s-"):
            mode = 1 if "list" in name else 0
            write_seed(os.path.join(corpus, "nbd-client", "cap-" + name[2:]),
                       bytes([mode]) + s2c)
            count += 1
            continue
        write_seed(os.path.join(corpus, "nbd-handshake", "cap-" + name),
                   b"\0" + c2s)
        count += 1
        neg = negotiation(c2s)
        if neg and neg[1] < len(c2s):
            write_seed(os.path.join(corpus, "nbd-transmit", "cap-" + name),
                       bytes([neg[0]]) + c2s[neg[1]:])
            count += 1
    print("capture-relay: %d seeds written" % count)


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "--split":
        split(sys.argv[2], sys.argv[3])
    elif len(sys.argv) == 4:
        relay(*sys.argv[1:])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
