#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Stress scenario: tests/integration/test-faults.sh at LONG=1 (30 more
# SIGTERMs with pipelined writes in flight, each on a fresh daemon).
export LONG=${LONG:-1}
exec bash "$(dirname "$0")/../integration/test-faults.sh"
