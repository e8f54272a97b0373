#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Stress scenario: tests/integration/test-load-qmp.sh at LONG=1 sizes (README.md).
export LONG=${LONG:-1}
exec bash "$(dirname "$0")/../integration/test-load-qmp.sh"
