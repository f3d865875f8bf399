# SPDX-License-Identifier: GPL-2.0
"""Busy loops on the host beside QEMU, as on a shared CI machine.

scripts/demo --host-load N and scripts/check --host-load N start N of
them for the whole run: a busy host may delay frames, never change what
the display shows, so the verdict must be the same.
"""
import os
import signal
import subprocess


def start(n):
    """N busy loops, each a process of its own at the default priority."""
    return [subprocess.Popen(["sh", "-c", "while :; do :; done"],
                             stdin=subprocess.DEVNULL, start_new_session=True)
            for _ in range(n)]


def stop(procs):
    for p in procs:
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        p.wait()


def describe(n, before, after):
    return ("host: %d cores, %d busy loops beside QEMU (--host-load), load "
            "average %.2f at the start, %.2f at the end" %
            (os.cpu_count(), n, before, after))
