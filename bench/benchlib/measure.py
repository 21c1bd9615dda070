"""The figures measured on each system: iperf3 TCP (1 and 4 streams), UDP
64-byte packet rate, ping RTT, and CPU seconds of the tunnel processes per
GB moved. Every call is bounded in time; a failed measurement is recorded as
None with the reason, never aborts the run.
"""
import json
import math
import os
import re
import subprocess
import time

from .lab import LabError, log

CLK_TCK = os.sysconf("SC_CLK_TCK")
IPERF_PORT = "5201"


def proc_ticks(pid):
    """utime+stime of a process (all its threads), in clock ticks."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # fields 14 and 15 of /proc/PID/stat


def machine_ticks():
    """(busy, total) clock ticks of all CPUs, from /proc/stat."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    idle = v[3] + (v[4] if len(v) > 4 else 0)
    return sum(v) - idle, sum(v)


def cpu_ticks(procs):
    return [proc_ticks(p.pid) for p in procs]


def iperf3(lab, topo, dst, args, duration):
    cmd = ["iperf3", "-c", dst, "-p", IPERF_PORT, "-t", str(duration), "-J", "--connect-timeout", "5000", *args]
    r = subprocess.run(["ip", "netns", "exec", topo.a] + cmd, capture_output=True, text=True,
                       timeout=duration + 40)
    try:
        data = json.loads(r.stdout)
    except ValueError:
        raise LabError(f"iperf3 {' '.join(args)}: no JSON (rc {r.returncode}): {r.stderr.strip()[-300:]}")
    if "error" in data:
        raise LabError(f"iperf3 {' '.join(args)}: {data['error']}")
    return data


def tcp(lab, topo, system, streams, duration):
    """Receiver throughput in Mbit/s and tunnel CPU seconds per GB."""
    t0, m0 = cpu_ticks(system.procs), machine_ticks()
    data = iperf3(lab, topo, system.dst, ["-P", str(streams)] if streams > 1 else [], duration)
    t1, m1 = cpu_ticks(system.procs), machine_ticks()
    recv = data["end"]["sum_received"]
    mbps = recv["bits_per_second"] / 1e6
    gb = recv["bytes"] / 1e9
    per_proc = [(b - a) / CLK_TCK for a, b in zip(t0, t1)]  # S, A, B order
    cpu_s = sum(per_proc)
    return {"mbps": mbps, "bytes": recv["bytes"], "seconds": recv.get("seconds"), "cpu_s": cpu_s,
            "cpu_per_proc": per_proc,  # CPU s of S, A, B during the test
            "machine_busy": (m1[0] - m0[0]) / max(1, m1[1] - m0[1]),  # all CPUs, everyone's work
            "cpu_s_per_gb": cpu_s / gb if system.procs and gb > 0 else None,
            "retransmits": data["end"].get("sum_sent", {}).get("retransmits")}


def udp_small(lab, topo, system, duration):
    """64-byte UDP payloads as fast as the sender can (-b 0): packets/s that
    B's iperf3 received (sent minus lost, over the test time)."""
    data = iperf3(lab, topo, system.dst, ["-u", "-l", "64", "-b", "0"], duration)
    s = data["end"]["sum"]
    seconds = s.get("seconds") or duration
    delivered = s["packets"] - s["lost_packets"]
    return {"pps": delivered / seconds, "sent": s["packets"], "lost": s["lost_packets"],
            "lost_percent": s.get("lost_percent")}


def ping(lab, topo, system, count=200, interval=0.01):
    """RTT avg and p99 (nearest rank) over COUNT pings at INTERVAL."""
    r = subprocess.run(["ip", "netns", "exec", topo.a, "ping", "-n", "-c", str(count), "-i", str(interval),
                        "-W", "1", system.dst], capture_output=True, text=True, timeout=count * interval + 30)
    rtts = sorted(float(m) for m in re.findall(r"time=([0-9.]+) ms", r.stdout))
    if len(rtts) < count * 0.9:
        raise LabError(f"ping: only {len(rtts)}/{count} replies")
    def pct(q):  # nearest rank
        return rtts[max(0, math.ceil(q * len(rtts)) - 1)]
    return {"avg_ms": sum(rtts) / len(rtts), "p50_ms": pct(0.50), "p90_ms": pct(0.90), "p99_ms": pct(0.99),
            "max_ms": rtts[-1], "replies": len(rtts)}


def wait_listening(lab, topo, srv):
    """Until B's iperf3 server (SRV) listens (10 s at most)."""
    end = time.time() + 10
    while not lab.sh(["ss", "-Hltn", f"sport = :{IPERF_PORT}"], ns=topo.b, check=False).strip():
        if time.time() > end or srv.poll() is not None:
            raise LabError("iperf3 server did not start")
        time.sleep(0.1)


def run_all(lab, topo, system, duration, udp_duration, ping_count):
    """All figures for SYSTEM (already up). Returns {figure: value|None} and errors."""
    srv = lab.bg(topo.b, ["iperf3", "-s", "-p", IPERF_PORT], f"iperf3-{system.key}.log")
    fig, errors = {}, {}
    try:
        wait_listening(lab, topo, srv)
        steps = (  # ping first, on the idle tunnel: a flood leaves queues that take a while to drain
            ("ping", lambda: ping(lab, topo, system, ping_count)),
            ("tcp1", lambda: tcp(lab, topo, system, 1, duration)),
            ("tcp4", lambda: tcp(lab, topo, system, 4, duration)),
            ("udp64", lambda: udp_small(lab, topo, system, udp_duration)),
        )
        raw = {}
        for name, fn in steps:
            try:
                raw[name] = fn()
            except (LabError, subprocess.TimeoutExpired, KeyError, OSError) as e:
                errors[name] = str(e)
                log(f"  {system.key} {name}: FAILED: {e}")
            time.sleep(0.5)  # let queues drain between tests
        fig["tcp1_mbps"] = raw.get("tcp1", {}).get("mbps")
        fig["tcp4_mbps"] = raw.get("tcp4", {}).get("mbps")
        fig["udp64_pps"] = raw.get("udp64", {}).get("pps")
        fig["rtt_avg_ms"] = raw.get("ping", {}).get("avg_ms")
        fig["rtt_p50_ms"] = raw.get("ping", {}).get("p50_ms")
        fig["rtt_p99_ms"] = raw.get("ping", {}).get("p99_ms")
        fig["cpu_s_per_gb_1"] = raw.get("tcp1", {}).get("cpu_s_per_gb")
        fig["cpu_s_per_gb_4"] = raw.get("tcp4", {}).get("cpu_s_per_gb")
        return fig, raw, errors
    finally:
        lab.stop(srv)
