# SPDX-License-Identifier: GPL-2.0
"""The demo on a screen: scripts/demo's mirror of vkms onto virtio-gpu.

scripts/demo imports this. wrap() adds QEMU's virtio-gpu to the VM
(scripts/vm/run --gpu virtio; DISPLAY_VM=gtk|vnc shows it live), loads vgem
with a second engine for the mirror's copies, and runs tools/mirror in the
guest beside tools/flipdemo (see tools/mirror.c). report() moves the QEMU
screendumps the mirror asked for to out/demo/screen-NN.png and checks each,
pixel by pixel, against the test pattern of the frame it shows
("mirror check").
"""
import os
import shutil
import subprocess

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MIRROR = os.path.join(TOP, "build", "tools", "mirror")


def wrap(vm, cmd, raw, shots=4, every=6):
    """The VM options and the guest command with the mirror beside cmd."""
    vm = [a + ":engines=2" if a.endswith("/vgem.ko") else a for a in vm]
    vm += ["--gpu", "virtio"]
    mirror = [MIRROR, raw, "--wait-for", os.path.join(raw, "meta.txt"),
              "--engine", "1", "--every", str(every), "--shots", str(shots)]
    script = ('"$0" "$@" & m=$!; %s; rc=$?; kill -TERM $m; wait $m || rc=1; '
              'exit $rc' % " ".join(cmd_quote(a) for a in cmd))
    return vm, ["sh", "-c", script] + mirror


def cmd_quote(a):
    return "'" + a.replace("'", "'\\''") + "'"


def report(raw, vmout, out):
    """(report lines, ok): the screendumps, moved to out/ and checked."""
    lines = ["", "virtio-gpu mirror (QEMU screendumps of the virtio-gpu "
             "output, checked pixel by pixel against their frame):"]
    csv = os.path.join(raw, "mirror.csv")
    if not os.path.exists(csv):
        return lines + ["  FAILED: the mirror wrote no mirror.csv"], False
    with open(csv) as f:
        rows = [r.strip().split(",") for r in f.readlines()[1:] if r.strip()]
    ok = bool(rows)
    for i, (png, frame, seq) in enumerate(rows):
        src = os.path.join(vmout, "screendump", png)
        dst = os.path.join(out, "screen-%02d.png" % i)
        if not os.path.exists(src):
            lines.append("  %s: FAILED: no %s" % (png, src))
            ok = False
            continue
        shutil.move(src, dst)
        if int(frame) < 0:
            lines.append("  %s: FAILED: no frame number on screen" %
                         os.path.basename(dst))
            ok = False
            continue
        r = subprocess.run([MIRROR, "check", dst, frame],
                           capture_output=True, text=True)
        what = (r.stdout + r.stderr).strip()
        lines.append("  %s  frame %5s (vkms vblank %s)  %s" % (
            os.path.basename(dst), frame, seq, what))
        ok &= r.returncode == 0
    if not rows:
        lines.append("  FAILED: no screendump taken")
    return lines, ok
