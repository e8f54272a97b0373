#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Run a program under systemd-style socket activation:
socket-activate.py SOCKET_PATH PROGRAM ARGS... binds a unix socket, then
execs PROGRAM with it as fd 3 and LISTEN_FDS=1, LISTEN_PID=its pid."""
import os
import socket
import sys

path = sys.argv[1]
if os.path.exists(path):
    os.unlink(path)
s = socket.socket(socket.AF_UNIX)
s.bind(path)
s.listen(16)
os.dup2(s.fileno(), 3)
os.set_inheritable(3, True)
env = dict(os.environ, LISTEN_FDS='1', LISTEN_PID=str(os.getpid()))
os.execvpe(sys.argv[2], sys.argv[2:], env)
