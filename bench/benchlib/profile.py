"""perf profile of vpnhost under load: during a 1-stream iperf3 TCP run and
during the 64-byte UDP flood, the hub (S) and client A are sampled at the
same time (perf record -e cpu-clock -g -p PID -- sleep N: software clock,
frame-pointer call chains). The flat self-time report of each is kept, plus
a caller view."""
import os
import shutil
import subprocess
import time

from . import measure
from .lab import log


def perf_usable():
    if not shutil.which("perf"):
        return False
    r = subprocess.run(["perf", "record", "-e", "cpu-clock", "-o", "/dev/null", "--", "true"],
                       capture_output=True)
    return r.returncode == 0


def _record(lab, topo, vh, phase, duration, load):
    perfs = {}
    for who, proc in (("server", vh.procs[0]), ("client-a", vh.procs[1])):
        data = os.path.join(lab.tmp, f"perf-{phase}-{who}.data")
        perfs[who] = (data, lab.bg(topo.s, ["perf", "record", "-e", "cpu-clock", "-F", "999", "-g",
                                            "-p", str(proc.pid), "-o", data, "--", "sleep", str(duration)],
                                   f"perf-{phase}-{who}.log"))
    result = load()
    for _, p in perfs.values():
        try:
            p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            lab.stop(p)
    return perfs, result


def _report(data, outdir, name):
    rep = subprocess.run(["perf", "report", "--stdio", "--no-children", "-i", data, "--percent-limit", "0.5",
                          "-g", "none", "--sort", "dso,sym"], capture_output=True, text=True, timeout=120)
    with open(os.path.join(outdir, f"{name}.txt"), "w") as f:
        f.write(rep.stdout)
    callers = subprocess.run(["perf", "report", "--stdio", "--no-children", "-i", data, "--percent-limit", "3",
                              "-g", "caller,0.5,callee,function,percent", "--sort", "sym"],
                             capture_output=True, text=True, timeout=120)
    with open(os.path.join(outdir, f"{name}-callgraph.txt"), "w") as f:
        f.write(callers.stdout)
    samples = next((l for l in rep.stdout.splitlines() if "of event" in l), "")
    top = [l.rstrip() for l in rep.stdout.splitlines() if l.strip() and not l.startswith("#")]
    return {"header": samples.strip("# ").strip(), "top": top[:25]}


def run(lab, topo, vh, duration, udp_duration, outdir):
    vh.up(lab, topo)
    srv = lab.bg(topo.b, ["iperf3", "-s", "-p", measure.IPERF_PORT], "iperf3-profile.log")
    out = {}
    try:
        time.sleep(0.5)
        phases = (("tcp1", duration, lambda: measure.tcp(lab, topo, vh, 1, duration)),
                  ("udp64", udp_duration, lambda: measure.udp_small(lab, topo, vh, udp_duration)))
        for phase, secs, load in phases:
            perfs, result = _record(lab, topo, vh, phase, secs, load)
            out[phase] = {"result": result}
            for who, (data, _) in perfs.items():
                out[phase][who] = _report(data, outdir, f"perf-{phase}-{who}")
                log(f"  profile {phase} {who}: {outdir}/perf-{phase}-{who}.txt")
            time.sleep(1.0)
        return out
    finally:
        lab.stop(srv)
        vh.down(lab)


def _stat_start(lab, topo, procs, secs, tag):
    """perf stat (syscalls entered, context switches, task clock) of each of
    PROCS for SECS seconds."""
    out = []
    for who, p in zip(("S", "A", "B"), procs):
        path = os.path.join(lab.tmp, f"pstat-{tag}-{who}.csv")
        out.append((who, path, lab.bg(topo.s, ["perf", "stat", "-x", ",", "-o", path, "-e",
                                               "raw_syscalls:sys_enter,context-switches,task-clock",
                                               "-p", str(p.pid), "--", "sleep", str(secs)],
                                      f"pstat-{tag}-{who}.log")))
    time.sleep(0.3)  # perf attached before the load starts
    return out


def _stat_collect(stats):
    res = {}
    for who, path, p in stats:
        try:
            p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            pass
        vals = {}
        try:
            with open(path) as f:
                for line in f:
                    fl = line.strip().split(",")
                    if len(fl) > 2 and fl[0][:1].isdigit():
                        vals[fl[2]] = float(fl[0])
        except OSError:
            pass
        res[who] = {"syscalls": vals.get("raw_syscalls:sys_enter"), "ctxsw": vals.get("context-switches"),
                    "task_ms": vals.get("task-clock")}
    return res


def syscalls(lab, topo, chosen, ping_count, udp_duration):
    """Per tunnel process: system calls and context switches per ping (idle
    tunnel) and per delivered 64-byte UDP packet (flood). Tracepoint counting
    only, in a separate pass, so the main figures are not perturbed."""
    out = {}
    for s in chosen:
        try:
            s.up(lab, topo)
            srv = lab.bg(topo.b, ["iperf3", "-s", "-p", measure.IPERF_PORT], f"iperf3-sc-{s.key}.log")
            st = _stat_start(lab, topo, s.procs, ping_count * 0.01 + 1.5, f"{s.key}-ping")
            ping = measure.ping(lab, topo, s, ping_count)
            per_ping = _stat_collect(st)
            time.sleep(0.5)
            st = _stat_start(lab, topo, s.procs, udp_duration + 1, f"{s.key}-udp")
            udp = measure.udp_small(lab, topo, s, udp_duration)
            per_udp = _stat_collect(st)
            delivered = udp["sent"] - udp["lost"]
            task_ms = [d["task_ms"] for d in per_udp.values() if d.get("task_ms") is not None]
            out[s.key] = {
                "ping": {w: {k: (v / ping["replies"] if v is not None and k != "task_ms" else v)
                             for k, v in d.items()} for w, d in per_ping.items()},
                "udp64": {w: {k: (v / delivered if v is not None and k != "task_ms" and delivered else v)
                              for k, v in d.items()} for w, d in per_udp.items()},
                "rtt_p50_ms": ping["p50_ms"], "udp64_pps": udp["pps"],
                "udp64_us_per_packet": sum(task_ms) * 1000 / delivered if delivered and len(task_ms) == 3 else None}
            lab.stop(srv)
        except Exception as e:  # noqa: BLE001 - one row's failure must not end the run
            out[s.key] = {"error": str(e)}
            log(f"  syscalls {s.key}: FAILED: {e}")
        finally:
            s.down(lab)
    return out
