#!/usr/bin/env python3
"""Curves for docs/performance-log.md: runs the load tools over a range of loads against a fresh
hailer-server each time and draws the results as SVG (no plotting library needed).

    bench/sweep.py [--build DIR] [--out docs/perf] [--seconds S] [--quick]

  calls_throughput.svg  call cycles/s against the number of pairs cycling (hailer-load calls)
  calls_notify.svg      busy-notify latency p50/p99 against the same load
  ptt_handover.svg      press -> grant and handover p50/p99 against class size (hailer-load ptt)

The raw figures go to OUT/sweep.json beside the plots."""
import argparse
import json
import os
import re
import resource
import subprocess
import tempfile
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def load_point(build, server_args, address_pattern, tool_args, timeout):
    """A fresh hailer-server with `server_args`, hailer-load against the address its banner shows
    (the first match of `address_pattern`), the tool's JSON report; the server is stopped after."""
    server = subprocess.Popen([os.path.join(build, "apps", "hailer-server"), "--port", "0", "--udp-port", "0",
                               "--log-level", "warn", *server_args], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        address = None
        for _ in range(8):
            m = re.search(address_pattern, server.stdout.readline().decode())
            if m:
                address = m.group(1)
                break
        if not address:
            raise RuntimeError("hailer-server did not start")
        out = subprocess.run([os.path.join(build, "apps", "hailer-load"), *tool_args, "--server", address,
                              "--server-pid", str(server.pid), "--json"], capture_output=True, timeout=timeout)
        if out.returncode != 0:
            raise RuntimeError("hailer-load %s failed: %s" % (tool_args[0], out.stderr.decode()))
        return json.loads(out.stdout)
    finally:
        server.terminate()
        server.wait(timeout=10)


def calls_point(build, pairs, probes, seconds):
    return load_point(build, ["--no-web", "--plaintext", "--max-sessions", "20000", "--max-sessions-per-address", "20000"], r"tcp ([0-9.]+:\d+)",
                      ["calls", "--pairs", str(pairs), "--probes", str(probes), "--seconds", str(seconds)],
                      seconds * 4 + 120)


def ptt_point(build, students, cycles):
    n = str(students + 10)
    return load_point(build, ["--http-port", "0", "--no-tls", "--recordings", "none", "--audio-out", "none",
                              "--max-sessions", n, "--max-room-members", n, "--max-connections-per-address", n,
                              "--max-sessions-per-address", n, "--max-joins-per-address-per-second", "50000",
                              "--state-dir", os.path.join(tempfile.gettempdir(), "hailer-sweep-state"),
                              "--default-floor-policy", "queue"], r"http://([0-9.]+:\d+)/",
                      ["ptt", "--students", str(students), "--cycles", str(cycles)], 600)


# ----------------------------------------------------------------------------- SVG

COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd"]


def nice_max(v):
    if v <= 0:
        return 1
    mag = 10 ** len(str(int(v))) / 10
    for m in (1, 2, 2.5, 5, 10):
        if v <= m * mag:
            return m * mag
    return 10 * mag


def svg_plot(path, title, xlabel, ylabel, xs, series, log_x=False):
    """A line chart: `series` is [(label, [y...])], one y per x."""
    import math
    w, h, left, right, top, bottom = 640, 360, 70, 20, 40, 50
    pw, ph = w - left - right, h - top - bottom
    ymax = nice_max(max(max(ys) for _, ys in series))
    fx = (lambda x: math.log2(x)) if log_x else (lambda x: x)
    x0, x1 = fx(xs[0]), fx(xs[-1])
    px = lambda x: left + (fx(x) - x0) / ((x1 - x0) or 1) * pw
    py = lambda y: top + ph - y / ymax * ph
    out = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="12">' % (w, h),
           '<rect width="100%" height="100%" fill="white"/>',
           '<text x="%d" y="22" font-size="15" font-weight="bold">%s</text>' % (left, title),
           '<text x="%d" y="%d" text-anchor="middle">%s</text>' % (left + pw / 2, h - 12, xlabel),
           '<text x="16" y="%d" text-anchor="middle" transform="rotate(-90 16 %d)">%s</text>' % (top + ph / 2, top + ph / 2, ylabel)]
    for k in range(6):
        y = ymax * k / 5
        out.append('<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#ddd"/>' % (left, py(y), left + pw, py(y)))
        out.append('<text x="%d" y="%.1f" text-anchor="end">%s</text>' % (left - 6, py(y) + 4, ("%g" % y)))
    for x in xs:
        out.append('<text x="%.1f" y="%d" text-anchor="middle">%s</text>' % (px(x), top + ph + 18, x))
    out.append('<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="black"/>' % (left, top + ph, left + pw, top + ph))
    out.append('<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="black"/>' % (left, top, left, top + ph))
    for i, (label, ys) in enumerate(series):
        c = COLORS[i % len(COLORS)]
        pts = " ".join("%.1f,%.1f" % (px(x), py(y)) for x, y in zip(xs, ys))
        out.append('<polyline fill="none" stroke="%s" stroke-width="2" points="%s"/>' % (c, pts))
        for x, y in zip(xs, ys):
            out.append('<circle cx="%.1f" cy="%.1f" r="3" fill="%s"><title>%s: %g</title></circle>' % (px(x), py(y), c, label, y))
        out.append('<rect x="%d" y="%d" width="12" height="3" fill="%s"/>' % (left + 12, top + 10 + 16 * i, c))
        out.append('<text x="%d" y="%d">%s</text>' % (left + 30, top + 15 + 16 * i, label))
    out.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(HERE, "..", "build"))
    ap.add_argument("--out", default=os.path.join(HERE, "..", "docs", "perf"))
    ap.add_argument("--seconds", type=float, default=5)
    ap.add_argument("--quick", action="store_true", help="fewer points, shorter runs (a smoke run)")
    a = ap.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 16384), hard))
    os.makedirs(a.out, exist_ok=True)
    pairs = [1, 4, 16, 64] if a.quick else [1, 2, 4, 8, 16, 32, 64, 128]
    students = [10, 100] if a.quick else [10, 100, 300, 1000]
    seconds = 0.5 if a.quick else a.seconds
    calls = [calls_point(a.build, p, 1, seconds) for p in pairs]
    for p, c in zip(pairs, calls):
        print("pairs %4d: %8.0f cycles/s, notify p50 %.1f us p99 %.1f us" % (
            p, c["load"]["cycles_per_s"], c["load"]["notify_p50_us"], c["load"]["notify_p99_us"]), file=sys.stderr)
    ptt = [ptt_point(a.build, n, 10 if a.quick else 100) for n in students]
    for n, r in zip(students, ptt):
        print("students %4d: press p50 %.0f us p99 %.0f us, handover p50 %.0f us p99 %.0f us, %.1f KiB per student" % (
            n, r["press_p50_us"], r["press_p99_us"], r["handover_p50_us"], r["handover_p99_us"],
            r["rss_kib_per_student"]), file=sys.stderr)
    with open(os.path.join(a.out, "sweep.json"), "w") as f:
        json.dump({"calls": dict(zip(map(str, pairs), calls)), "ptt": dict(zip(map(str, students), ptt))}, f, indent=1)
    svg_plot(os.path.join(a.out, "calls_throughput.svg"), "Call cycles per second (hailer-load calls, loopback)",
             "pairs cycling call -> accept -> hangup", "cycles / s", pairs,
             [("cycles/s", [c["load"]["cycles_per_s"] for c in calls])], log_x=True)
    svg_plot(os.path.join(a.out, "calls_notify.svg"), "Busy notify latency under call load",
             "pairs cycling", "hangup sent -> callee_available read (us)", pairs,
             [("p50", [c["load"]["notify_p50_us"] for c in calls]), ("p99", [c["load"]["notify_p99_us"] for c in calls])],
             log_x=True)
    svg_plot(os.path.join(a.out, "ptt_handover.svg"), "Floor latency against class size (hailer-load ptt)",
             "students in the room", "latency (us)", students,
             [("press -> grant p50", [r["press_p50_us"] for r in ptt]), ("press -> grant p99", [r["press_p99_us"] for r in ptt]),
              ("handover p50", [r["handover_p50_us"] for r in ptt]),
              ("handover p99", [r["handover_p99_us"] for r in ptt])], log_x=True)


if __name__ == "__main__":
    sys.exit(main())
