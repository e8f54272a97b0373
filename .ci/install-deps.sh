#!/bin/bash
# Install everything Warden needs to build and test on Debian 12.
set -eu
SUDO=
if [ "$(id -u)" != 0 ]; then SUDO=sudo; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends \
    meson ninja-build pkg-config gcc clang libclang-rt-14-dev \
    libglib2.0-dev libgnutls28-dev nettle-dev libjansson-dev libedit-dev \
    gnutls-bin openssl socat python3 python3-libnbd python3-websockets \
    qemu-utils qemu-system-common libnbd-bin nbdkit nbd-server fio \
    valgrind gdb bc iperf3 linux-perf ca-certificates >/dev/null
