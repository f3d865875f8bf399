# SPDX-License-Identifier: GPL-2.0
"""Shared code of the client programs of make check-clients (in the VM).

Each program of tests/clients/progs/ runs real clients (modetest, weston,
Xorg, ...) on vkms as subtests and prints the igt harness's lines
("Starting subtest: X", "Subtest X: SUCCESS|FAIL|SKIP"), so that
scripts/check reads its results like those of a test binary. A client that
does not finish (or stop when asked) in time is killed, and the subtest
fails saying so; every client's output is kept in $CF_OUT/clients/.
What the screen shows is checked by build/clients/kmsprobe (kmsprobe.c):
the CRC vkms reports against the reference composition of the planes the
client set up, and what the client was to draw.
"""
import inspect
import os
import re
import signal
import subprocess
import sys
import time

TOP = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
PROBE = os.path.join(TOP, "build", "clients", "kmsprobe")
LOGS = os.path.join(os.environ.get("CF_OUT", os.path.join(TOP, "out")),
                    "clients")
PROG = os.path.basename(sys.argv[0])


class Skip(Exception):
    pass


class Fail(Exception):
    pass


def fail(msg):
    raise Fail(msg)


def require(cond, msg):
    if not cond:
        raise Skip(msg)


def info(msg):
    print(msg, flush=True)


_clients = []


class Client:
    """A client process, its output in LOGS/PROG-NAME.log."""

    def __init__(self, name, argv, env=None, stdin_pipe=False, keep=False):
        os.makedirs(LOGS, exist_ok=True)
        self.name = name
        self.argv = argv
        self.log = os.path.join(LOGS, "%s-%s.log" % (PROG, name))
        self.logf = open(self.log, "w")
        self.logf.write("$ %s\n" % " ".join(argv))
        self.logf.flush()
        e = dict(os.environ)
        e.update(env or {})
        self.p = subprocess.Popen(
            argv, stdin=subprocess.PIPE if stdin_pipe else subprocess.DEVNULL,
            stdout=self.logf, stderr=subprocess.STDOUT, env=e,
            start_new_session=True)
        self.rc = None
        # keep: it outlives its subtest (a server the next ones use).
        self.keep = keep
        _clients.append(self)

    def alive(self):
        return self.p.poll() is None

    def output(self):
        self.logf.flush()
        return open(self.log, errors="replace").read()

    def _kill(self):
        try:
            os.killpg(self.p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.p.wait()

    def wait(self, timeout):
        """Run to completion within @timeout s, or be killed (a failure)."""
        try:
            self.rc = self.p.wait(timeout)
        except subprocess.TimeoutExpired:
            self._kill()
            self.rc = self.p.returncode
            fail("%s hung: killed after %d s (log: %s)"
                 % (self.name, timeout, os.path.relpath(self.log, TOP)))
        return self.rc

    def stop(self, sig=signal.SIGTERM, timeout=20, group=True):
        """Ask it to end (closing its stdin, else @sig); kill if it hangs.

        @group: @sig to its whole process group; else to it alone, which
        ends its own children (weston: its shell dying first is an error).
        """
        if self.alive():
            if self.p.stdin:
                try:
                    self.p.stdin.write(b"\n")
                    self.p.stdin.close()
                except OSError:
                    pass
            else:
                try:
                    if group:
                        os.killpg(self.p.pid, sig)
                    else:
                        os.kill(self.p.pid, sig)
                except ProcessLookupError:
                    pass
        try:
            self.rc = self.p.wait(timeout)
        except subprocess.TimeoutExpired:
            self._kill()
            self.rc = self.p.returncode
            fail("%s hung: did not end within %d s of being asked, killed "
                 "(log: %s)" % (self.name, timeout,
                                os.path.relpath(self.log, TOP)))
        return self.rc

    def expect_alive(self):
        if not self.alive():
            fail("%s exited early with status %s (log: %s):\n%s"
                 % (self.name, self.p.returncode,
                    os.path.relpath(self.log, TOP), tail(self.output())))


def tail(text, n=8):
    return "\n".join(text.strip().splitlines()[-n:])


def run(name, argv, timeout=60, env=None):
    """Run a client to completion: (exit status, output)."""
    c = Client(name, argv, env=env)
    rc = c.wait(timeout)
    return rc, c.output()


def wait_until(what, pred, timeout):
    """Poll @pred until true; fail after @timeout s."""
    end = time.time() + timeout
    while time.time() < end:
        if pred():
            return
        time.sleep(0.1)
    fail("%s: not within %d s" % (what, timeout))


def card_holders(card):
    """The pids that have @card open (kmsprobe never runs meanwhile)."""
    pids = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            fds = os.listdir("/proc/%s/fd" % pid)
        except OSError:
            continue
        for fd in fds:
            try:
                if os.readlink("/proc/%s/fd/%s" % (pid, fd)) == card:
                    pids.append(int(pid))
                    break
            except OSError:
                pass
    return pids


def wait_client_opened(client, timeout=60):
    """Wait until some process has vkms open: the client is its master.

    kmsprobe must not open vkms first: the first to open a DRM device is
    its master, and the client would then be refused its mode set.
    """
    card = vkms_card()
    if card is None:
        fail("no vkms card in /sys/class/drm")
    end = time.time() + timeout
    while time.time() < end:
        client.expect_alive()
        if card_holders(card):
            return
        time.sleep(0.05)
    fail("%s did not open %s within %d s" % (client.name, card, timeout))


def probe(name, subtest, timeout=40, client=None, quiet=False, **env):
    """build/clients/kmsprobe --run-subtest SUBTEST: its "kmsprobe" lines.

    With @client, only once it has opened vkms (wait_client_opened).
    """
    if client is not None:
        wait_client_opened(client)
    e = {"KMSPROBE_%s" % k.upper(): str(v) for k, v in env.items()}
    e["KMSPROBE_TIMEOUT"] = str(timeout)
    # The harness's own limit of a subtest (120 s unless told) must not
    # cut the probe's wait short.
    e["IGT_SUBTEST_TIMEOUT"] = str(timeout + 30)
    os.makedirs(LOGS, exist_ok=True)
    e["KMSPROBE_SAVE_FAIL"] = os.path.join(LOGS, "%s-%s-fail.ppm"
                                           % (PROG, name))
    rc, out = run("%s-probe" % name, [PROBE, "--run-subtest", subtest],
                  timeout=timeout + 30, env=e)
    # Its own harness lines stay in its log: the subtest is ours.
    mine = "\n".join(line for line in out.splitlines()
                     if not re.match(r"^(Starting subtest|Subtest |\$ )",
                                     line))
    if quiet:
        return mine if rc == 0 else None
    if rc == 77:
        lines = mine.splitlines()
        why = next((lines[i + 1] for i, line in enumerate(lines)
                    if line.startswith("requirement not met") and
                    i + 1 < len(lines)), tail(mine, 1))
        raise Skip("kmsprobe: " + why)
    if rc != 0:
        # The assertion's own message first: the report's one line.
        lines = mine.splitlines()
        why = next((lines[i + 1] for i, line in enumerate(lines)
                    if line.startswith("assertion failed") and
                    i + 1 < len(lines)), "exit %d" % rc)
        fail("kmsprobe %s: %s\n%s" % (subtest, why, tail(mine, 12)))
    return mine


# ---- flip events, from the DRM tracepoint ----------------------------------

TRACING = "/sys/kernel/tracing"
EVENT = TRACING + "/events/drm/drm_vblank_event_delivered/enable"


def trace_on():
    """Turn the flip event's tracepoint on, once for the whole boot.

    Turning a tracepoint on or off patches kernel text (static keys and
    calls, with int3 breakpoints); under QEMU TCG one such patch, turning
    the event off while modetest flipped, ended in an int3 Oops in
    __schedule. So it is turned on once, before any client runs, without
    the scheduler hooks that record command names, and never off: a run
    only clears the buffer and reads it.
    """
    if not os.path.exists(EVENT):
        raise Skip("no tracepoint %s" % EVENT)
    if open(EVENT).read().strip() == "1":
        return
    for opt in ("record-cmd", "record-tgid"):
        path = "%s/options/%s" % (TRACING, opt)
        if os.path.exists(path):
            with open(path, "w") as f:
                f.write("0")
    with open(EVENT, "w") as f:
        f.write("1")


class FlipTrace:
    """The vblank events DRM delivers (to every client) while in it.

    Each page flip event is one drm_vblank_event_delivered line with the
    vblank sequence it completed at.
    """

    def __enter__(self):
        trace_on()
        with open(TRACING + "/trace", "w"):
            pass
        return self

    def __exit__(self, *exc):
        text = open(TRACING + "/trace").read()
        self.seqs = [int(m.group(1)) for m in re.finditer(
            r"drm_vblank_event_delivered: .*crtc=0, seq=(\d+)", text)]
        return False

    def count(self):
        """Flip events so far."""
        return len(re.findall(r"drm_vblank_event_delivered: .*crtc=0,",
                              open(TRACING + "/trace").read()))

    def check(self, hz, max_hold=300):
        """Every flip a vblank or more after the one before, none stalled."""
        q = self.seqs
        if len(q) < 2:
            fail("%d flip event(s) in the trace" % len(q))
        gaps = [b - a for a, b in zip(q, q[1:])]
        span = q[-1] - q[0]
        rate = (len(q) - 1) / span if span else 0.0
        info("flip events: %d over %d vblanks: %.3f a vblank (%.1f Hz at "
             "%.2f Hz); vblanks between two: min %d, max %d"
             % (len(q), span, rate, rate * hz, hz, min(gaps), max(gaps)))
        if min(gaps) < 1:
            fail("two flips completed at one vblank (seq %d)"
                 % q[gaps.index(min(gaps)) + 1])
        if max(gaps) > max_hold:
            fail("a flip took %d vblanks (more than %d): stalled"
                 % (max(gaps), max_hold))
        return rate


# ---- vkms, as modetest lists it -------------------------------------------

def vkms_card():
    """/dev/dri/cardN of vkms, or None."""
    for c in sorted(os.listdir("/sys/class/drm")):
        if re.fullmatch(r"card\d+", c):
            # vkms's platform device, which no driver binds.
            dev = os.path.realpath("/sys/class/drm/%s/device" % c)
            if os.path.basename(dev) == "vkms":
                return "/dev/dri/" + c
    return None


def upstream():
    """Whether the vkms loaded is upstream's (ours has "gate")."""
    return not os.path.exists("/sys/module/vkms/parameters/gate")


def driver_name():
    return "upstream vkms" if upstream() else "our vkms"


class Res:
    """Connector, CRTC and planes of vkms from `modetest -M vkms`."""

    def __init__(self, text):
        self.text = text
        self.conn = self.crtc = None
        self.conn_name = None
        self.planes = {}        # id -> {"type": ..., "props": {name: value}}
        section = None
        cur = None
        prop = None
        for line in text.splitlines():
            if re.match(r"^(Encoders|Connectors|CRTCs|Planes|"
                        r"Frame buffers):", line):
                section = line.split(":")[0]
                continue
            m = re.match(r"^(\d+)\s+(\d+)\s+(connected|disconnected)\s+"
                         r"(\S+)", line)
            if section == "Connectors" and m and m.group(3) == "connected":
                if self.conn is None:
                    self.conn = int(m.group(1))
                    self.conn_name = m.group(4)
                continue
            m = re.match(r"^(\d+)\s+\d+\s+\(", line)
            if section == "CRTCs" and m and self.crtc is None:
                self.crtc = int(m.group(1))
                continue
            m = re.match(r"^(\d+)\s+\d+\s+\d+\s+\d+,\d+", line)
            if section == "Planes" and m:
                cur = {"props": {}}
                self.planes[int(m.group(1))] = cur
                continue
            m = re.match(r"^\t(\d+) (.+):$", line)
            if section == "Planes" and cur is not None and m:
                prop = m.group(2)
                continue
            m = re.match(r"^\t\tvalue: (\d+)$", line)
            if section == "Planes" and cur is not None and prop and m:
                cur["props"][prop] = int(m.group(1))
                prop = None
        for p in self.planes.values():
            t = p["props"].get("type")
            p["type"] = {0: "overlay", 1: "primary", 2: "cursor"}.get(t)

    def plane(self, kind, n=0):
        ids = sorted(i for i, p in self.planes.items() if p["type"] == kind)
        return ids[n] if n < len(ids) else None

    def has_prop(self, plane, name):
        return name in self.planes.get(plane, {"props": {}})["props"]


def resources(name="resources"):
    rc, out = run(name, ["modetest", "-M", "vkms"], timeout=60)
    if rc != 0:
        fail("modetest -M vkms exited %d:\n%s" % (rc, tail(out)))
    r = Res(out)
    if r.conn is None or r.crtc is None or r.plane("primary") is None:
        fail("modetest lists no connected connector, CRTC or primary "
             "plane of vkms")
    return r


# ---- the harness's lines -----------------------------------------------------

_results = []


def subtest(name, fn):
    """Run @fn as subtest @name; every client it started is ended after."""
    print("Starting subtest: %s" % name, flush=True)
    t0 = time.time()
    result = "SUCCESS"
    try:
        fn()
    except Skip as e:
        print("skip reason: " + " / ".join(str(e).splitlines()))
        result = "SKIP"
    except Exception as e:     # noqa: BLE001 - any error fails the subtest
        line = inspect.trace()[-1].lineno if inspect.trace() else 0
        for fr in reversed(inspect.trace()):
            if fr.filename.endswith(PROG):
                line = fr.lineno
                break
        print("(%s:%d) %s:" % (PROG, line, name))
        msg = str(e) if isinstance(e, Fail) else "%s: %s" % (
            type(e).__name__, e)
        print(msg)
        result = "FAIL"
    finally:
        for c in list(_clients):
            if c.keep and c.alive():
                continue
            if c.alive():
                c._kill()
                print("%s: still running at the end, killed" % c.name)
            _clients.remove(c)
    print("Subtest %s: %s (%.3fs)" % (name, result, time.time() - t0),
          flush=True)
    _results.append(result)


def done():
    for c in _clients:
        if c.alive():
            c._kill()
            print("%s: still running at the end, killed" % c.name)
    sys.exit(98 if "FAIL" in _results else
             77 if _results and all(r == "SKIP" for r in _results) else 0)
