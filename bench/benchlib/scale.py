"""Scale figures for vpnhost alone, with vh_loadclient (TUN-less protocol
clients) in namespace A against a stock server in S:

- server RSS with 0 and with 253 idle sessions -> per-session cost;
- wall time until 253 clients that connect at once all have WELCOME;
- server RSS before/after N connect/disconnect cycles (churn).
"""
import os
import select
import signal
import statistics
import subprocess
import time

from .lab import LabError, log


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise LabError(f"no VmRSS for pid {pid}")


def read_stats(srv, path, timeout=5):
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    os.kill(srv.pid, signal.SIGUSR1)
    end = time.time() + timeout
    while not (os.path.exists(path) and os.path.getsize(path) > 0):
        if time.time() > end:
            raise LabError("no stats file after SIGUSR1")
        time.sleep(0.05)
    time.sleep(0.05)
    out = {}
    with open(path) as f:
        for line in f:
            parts = line.split()
            if len(parts) == 2 and parts[1].isdigit():
                out[parts[0]] = int(parts[1])
    return out


def wait_sessions(srv, path, want, timeout=20):
    end = time.time() + timeout
    while True:
        n = read_stats(srv, path).get("host.sessions_active", -1)
        if n == want:
            return
        if time.time() > end:
            raise LabError(f"server still has {n} sessions (want {want}) after {timeout}s")
        time.sleep(0.2)


def read_until(p, prefix, timeout):
    """Lines of P's stdout until one starts with PREFIX (bounded). Reads the
    pipe's fd directly (no buffering behind select's back)."""
    buf = getattr(p, "bench_buf", b"")
    lines, end = [], time.time() + timeout
    fd = p.stdout.fileno()
    while True:
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            line = line.decode(errors="replace").strip()
            lines.append(line)
            if line.startswith(prefix):
                p.bench_buf = buf
                return lines
        left = end - time.time()
        if left <= 0:
            raise LabError(f"vh_loadclient: no '{prefix}' line within {timeout:.0f}s: {lines[-3:]}")
        r, _, _ = select.select([fd], [], [], left)
        if not r:
            continue
        chunk = os.read(fd, 65536)
        if not chunk:
            raise LabError(f"vh_loadclient ended (rc {p.wait()}) before '{prefix}': {lines[-5:]}")
        buf += chunk


def kv(line):
    return {k: v for k, _, v in (w.partition("=") for w in line.split()) if _}


def has_cycles(loadclient):
    r = subprocess.run([loadclient, "--help"], capture_output=True, text=True)
    return "--cycles" in r.stdout


def run(lab, topo, vh, loadclient, reps, cycles):
    stats = os.path.join(lab.tmp, "scale-srv.stats")
    srv = vh.start_server(lab, topo, "scale-srv.log", ["--stats-file", stats])
    base = ["--server", topo.s_ip_a, "--port", "5000", "--key-file", vh.keyfile]
    res = {"sessions": 253}
    try:
        time.sleep(1.0)
        res["rss_0_kib"] = rss_kib(srv.pid)
        connect_s, rss253 = [], []
        for i in range(reps):
            t0 = time.monotonic()
            p = lab.bg(topo.a, [loadclient, *base, "--sessions", "253", "--hold", "--timeout", "30",
                                "--max-hold", "120"], f"scale-hold{i}.log", stdin=subprocess.PIPE,
                       stdout=subprocess.PIPE)
            lines = read_until(p, "summary", 60)
            connect_s.append(time.monotonic() - t0)
            summ = kv(lines[-1])
            if summ.get("welcome") != "253":
                raise LabError(f"253 sessions: {lines[-1]}")
            read_until(p, "holding", 10)
            wait_sessions(srv, stats, 253)
            time.sleep(1.0)
            rss253.append(rss_kib(srv.pid))
            p.stdin.close()  # EOF: vh_loadclient sends BYE on every session and exits
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                raise LabError("vh_loadclient did not exit after stdin EOF")
            lab.stop(p)
            wait_sessions(srv, stats, 0)
            log(f"  scale: 253 sessions welcomed in {connect_s[-1] * 1000:.0f} ms, server RSS "
                f"{res['rss_0_kib']} -> {rss253[-1]} KiB")
        res["connect_253_s"] = connect_s
        res["rss_253_kib"] = rss253
        res["per_session_kib"] = [(r - res["rss_0_kib"]) / 253 for r in rss253]
        time.sleep(1.0)
        res["rss_before_churn_kib"] = rss_kib(srv.pid)
        res["cycles"] = cycles
        t0 = time.monotonic()
        if has_cycles(loadclient):
            res["churn_tool"] = "vh_loadclient --cycles"
            p = lab.bg(topo.a, [loadclient, *base, "--sessions", "50", "--cycles", str(cycles),
                                "--cycle-mode", "bye", "--timeout", "20"], "scale-churn.log",
                       stdout=subprocess.PIPE, stdin=subprocess.DEVNULL)
            lines = read_until(p, "cycles done", max(120, cycles / 20))
            p.wait(timeout=10)
            res["churn_summary"] = lines[-1]
            if p.returncode != 0:
                raise LabError(f"churn: vh_loadclient rc {p.returncode}: {lines[-1]}")
        else:
            res["churn_tool"] = "vh_loadclient --sessions 50, in a loop"
            done, end = 0, time.time() + max(180, cycles / 20)
            while done < cycles:
                if time.time() > end:
                    raise LabError(f"churn: only {done}/{cycles} cycles in time")
                n = min(50, cycles - done)
                out = lab.sh([loadclient, *base, "--sessions", str(n), "--timeout", "20"], ns=topo.a,
                             timeout=60, check=False)
                if f"welcome={n}" not in out:
                    raise LabError(f"churn: {out.strip().splitlines()[-1:]}")
                done += n
        res["churn_s"] = time.monotonic() - t0
        wait_sessions(srv, stats, 0)
        time.sleep(1.0)
        res["rss_after_churn_kib"] = rss_kib(srv.pid)
        res["churn_delta_kib"] = res["rss_after_churn_kib"] - res["rss_before_churn_kib"]
        res["churn_delta_from_start_kib"] = res["rss_after_churn_kib"] - res["rss_0_kib"]
        log(f"  scale: {cycles} cycles in {res['churn_s']:.1f} s, server RSS {res['rss_before_churn_kib']} -> "
            f"{res['rss_after_churn_kib']} KiB")
        return res
    finally:
        lab.stop(srv)
