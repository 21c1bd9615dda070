#!/usr/bin/env python3
"""vpnhost benchmark (issues 8, 10): raw forwarding, OpenVPN TCP/UDP,
wireguard-go and vpnhost (TCP; UDP with cipher_xor and cipher_noise) side by
side, A -> hub S -> B in namespaces of its own; then vpnhost's goodput over
TCP vs UDP transport under underlay loss, its scale figures and a perf
profile. Run it through bench/run.sh
(root, clean-up guard); see bench/README.md.
"""
import argparse
import datetime
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import loss, measure, profile, report, scale, systems, topology  # noqa: E402
from benchlib.lab import Lab, LabError, log  # noqa: E402

SRC = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class Interrupted(BaseException):  # not caught by a measurement's "except Exception"
    def __init__(self, sig):
        super().__init__(f"signal {signal.Signals(sig).name}")
        self.rc = 128 + sig


def on_signal(sig, _frame):
    for other in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(other, signal.SIG_IGN)  # once: the clean-up must not be cut short
    raise Interrupted(sig)


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="smoke test: 1 repetition x 3 s, 1000 churn cycles")
    ap.add_argument("--reps", type=int, help="repetitions (default 3; --quick 1)")
    ap.add_argument("--duration", type=int, help="seconds per TCP test (default 10; --quick 3)")
    ap.add_argument("--udp-duration", type=int, help="seconds of the UDP test (default 5; --quick 3)")
    ap.add_argument("--ping-count", type=int, default=200, help="pings at 10 ms (default 200)")
    ap.add_argument("--systems",
                    default="raw,openvpn-tcp,openvpn-udp,wireguard-go,vpnhost,vpnhost-udp,vpnhost-udp-noise",
                    help="comma-separated subset (the ratios need openvpn-tcp and wireguard-go)")
    ap.add_argument("--loss", default="0,1,3",
                    help="underlay loss rates in %% for the TCP-vs-UDP transport goodput (default 0,1,3)")
    ap.add_argument("--loss-duration", type=int, help="seconds per goodput test under loss (default 10; --quick 3)")
    ap.add_argument("--no-loss", action="store_true", help="skip the goodput-under-loss phase")
    ap.add_argument("--udp-offload", choices=("on", "off"), default="on",
                    help="transport_udp GSO/GRO in the vpnhost UDP rows (off: --set transport.gso=false and gro=false)")
    ap.add_argument("--profile-system", default="vpnhost",
                    help="which vpnhost row the perf profile samples (default vpnhost; e.g. vpnhost-udp-noise)")
    ap.add_argument("--cycles", type=int, help="churn cycles (default 10000; --quick 1000)")
    ap.add_argument("--no-scale", action="store_true", help="skip vpnhost's scale figures")
    ap.add_argument("--no-profile", action="store_true", help="skip the perf profile of vpnhost")
    ap.add_argument("--profile", action="store_true", help="profile vpnhost with perf even with --quick")
    ap.add_argument("--out", help="output folder (default bench/out/<date-time>)")
    ap.add_argument("--prefix", default=f"vb{os.getpid()}", help="name prefix of this run (run.sh sets it)")
    ap.add_argument("--keep-tmp", action="store_true", help="keep the run's temp folder (logs, keys)")
    a = ap.parse_args()
    a.reps = a.reps or (1 if a.quick else 3)
    a.duration = a.duration or (3 if a.quick else 10)
    a.udp_duration = a.udp_duration or (3 if a.quick else 5)
    a.loss_duration = a.loss_duration or (3 if a.quick else 10)
    a.cycles = a.cycles or (1000 if a.quick else 10000)
    return a


def machine_info():
    def sh(cmd):
        try:
            return subprocess.run(cmd, capture_output=True, text=True, timeout=10).stdout.strip()
        except (OSError, subprocess.TimeoutExpired):
            return ""
    cpu = ""
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    vers = {p: sh(["dpkg-query", "-W", "-f=${Version}", p]) for p in ("openvpn", "wireguard-go", "iperf3")}
    return {"date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC"),
            "nproc": os.cpu_count(), "cpu": cpu, "kernel": os.uname().release,
            "loadavg_start": open("/proc/loadavg").read().split()[:3], "versions": vers,
            "vpnhost_commit": sh(["git", "-C", SRC, "rev-parse", "--short", "HEAD"]),
            "vpnhost_tree_dirty": bool(sh(["git", "-C", SRC, "status", "--porcelain", "--untracked-files=no"]))}


def snapshot_vpnhost(tmp):
    """Copies the vpnhost binary, its plugins and vh_loadclient into TMP, so a
    rebuild by someone else during the run does not change what is measured."""
    binary = os.environ.get("VPNHOST") or os.path.join(SRC, "build", "bin", "vpnhost")
    if not os.access(binary, os.X_OK):
        raise LabError(f"vpnhost binary not found at {binary} (build it, or set VPNHOST)")
    bindir = os.path.dirname(os.path.abspath(binary))
    plugins = os.path.join(bindir, "..", "lib", "vpnhost", "plugins")
    loadclient = os.environ.get("VH_LOADCLIENT") or os.path.join(bindir, "vh_loadclient")
    dst_bin = os.path.join(tmp, "vh", "bin")
    dst_plugins = os.path.join(tmp, "vh", "lib", "vpnhost", "plugins")
    os.makedirs(dst_bin)
    shutil.copy2(binary, os.path.join(dst_bin, "vpnhost"))
    shutil.copytree(plugins, dst_plugins)
    lc = None
    if os.access(loadclient, os.X_OK):
        lc = os.path.join(dst_bin, "vh_loadclient")
        shutil.copy2(loadclient, lc)
    return os.path.join(dst_bin, "vpnhost"), lc, binary


def bench_systems(lab, topo, chosen, a):
    runs = {s.key: [] for s in chosen}
    detail = {s.key: [] for s in chosen}
    for rep in range(a.reps):
        order = chosen[rep % len(chosen):] + chosen[:rep % len(chosen)]  # rotate: spread the drift
        for s in order:
            log(f"rep {rep + 1}/{a.reps}: {s.label}")
            t0 = time.time()
            try:
                s.up(lab, topo)
                fig, raw, errors = measure.run_all(lab, topo, s, a.duration, a.udp_duration, a.ping_count)
            except LabError as e:
                log(f"  {s.key}: FAILED to set up: {e}")
                fig, raw, errors = {}, {}, {"setup": str(e)}
            finally:
                s.down(lab)
            runs[s.key].append(fig)
            detail[s.key].append({"rep": rep + 1, "figures": fig, "raw": raw, "errors": errors,
                                  "wall_s": round(time.time() - t0, 1)})
            shown = ", ".join(f"{k}={report.fmt(v)}" for k, v in fig.items())
            log(f"  {s.key}: {shown}")
    return runs, detail


def write_outputs(a, outdir, info, labels, keys, summ, rat, sc, tg, prof, detail, elapsed, lo=None):
    body = [
        f"vpnhost benchmark, {info['date']}: {info['nproc']} CPUs ({info['cpu']}), kernel {info['kernel']}, "
        f"load average at start {' '.join(info['loadavg_start'])}",
        f"vpnhost {info['vpnhost_commit']}{' (+ uncommitted changes in the tree)' if info['vpnhost_tree_dirty'] else ''}"
        f", OpenVPN {info['versions']['openvpn']}, wireguard-go {info['versions']['wireguard-go']}, "
        f"iperf3 {info['versions']['iperf3']}",
        f"{a.reps} repetition(s); TCP tests {a.duration} s, UDP test {a.udp_duration} s, {a.ping_count} pings "
        f"at 10 ms; ratios are median / reference median (same run). Run took {elapsed / 60:.1f} min.",
        "", report.main_table(summ, rat, labels, keys), "",
        "CPU during the 1-stream TCP test (medians; the machine has "
        f"{info['nproc']} CPUs):", "", report.cpu_table(detail, labels, keys), "",
        "vpnhost goodput over a lossy underlay (one TCP stream A → B through the tunnel, cipher_xor; random loss "
        f"on A's link in both directions, per packet; {a.loss_duration} s per test; median (min–max) over "
        f"{a.reps} repetition(s)):", "", report.loss_table(lo), "",
        "vpnhost scale figures:", "", report.scale_table(sc), "",
        "System calls / context switches per ping (idle tunnel) and per delivered 64-byte UDP packet "
        "(flood), per tunnel process (a separate pass, perf stat):", "",
        report.syscall_table((prof or {}).get("syscalls"), labels), "",
        report.targets_table(tg),
    ]
    for phase in ("tcp1", "udp64"):
        for who in ("server", "client-a"):
            p = (prof or {}).get(phase, {}).get(who)
            if p:
                body += ["", f"perf, {(prof or {}).get('system', 'vpnhost')} {who} during the {phase} load ({p['header']}), top self-time entries:",
                         "", "```", *[l[:150] for l in p["top"][:12]], "```"]
    text = "\n".join(body)
    with open(os.path.join(outdir, "table.md"), "w") as f:
        f.write(text + "\n")
    result = {"machine": info, "settings": {k: getattr(a, k) for k in
                                            ("quick", "reps", "duration", "udp_duration", "ping_count", "cycles",
                                             "loss", "loss_duration", "udp_offload")},
              "figures": [{"key": k, "label": l, "unit": u, "better": b} for k, l, u, b in report.FIGURES],
              "summary": summ, "ratios": rat, "runs": detail, "scale": sc, "loss": lo,
              "targets": [{"target": t, "value": v, "met": m} for t, v, m in tg], "profile": prof}
    with open(os.path.join(outdir, "results.json"), "w") as f:
        json.dump(result, f, indent=1)
    return text


def main():
    a = parse_args()
    if os.geteuid() != 0:
        print("bench: needs root (network namespaces, TUN devices)", file=sys.stderr)
        return 2
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, on_signal)
    outdir = a.out or os.path.join(SRC, "bench", "out", time.strftime("%Y%m%d-%H%M%S"))
    os.makedirs(outdir, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=f"{a.prefix}-bench.")
    lab = Lab(a.prefix, tmp)
    started = time.time()
    rc = 0
    try:
        info = machine_info()
        vh_bin, loadclient, vh_src = snapshot_vpnhost(tmp)
        log(f"run {a.prefix}: output {outdir}, temp {tmp}, vpnhost {vh_src} (snapshot)")
        every = systems.all_systems(vh_bin, os.path.join(SRC, "manifests"))
        if a.udp_offload == "off":
            for s in every:
                if getattr(s, "transport", "") == "udp":
                    s.extra = ["--set", "transport.gso=false", "--set", "transport.gro=false"]
                    s.label += " (GSO/GRO off)"
        wanted = a.systems.split(",")
        chosen = [s for s in every if s.key in wanted]
        topo = topology.build(lab)
        for s in chosen:
            s.prepare(lab, topo)
        runs, detail = bench_systems(lab, topo, chosen, a)
        keys = [s.key for s in chosen]
        labels = {s.key: s.label for s in chosen}
        vh = next((s for s in every if s.key == "vpnhost"), None)
        vh.prepare(lab, topo)
        lo = None
        if not a.no_loss:
            log("vpnhost goodput under underlay loss, TCP vs UDP transport")
            pair = {"tcp": vh, "udp": next(s for s in every if s.key == "vpnhost-udp")}
            pair["udp"].prepare(lab, topo)
            try:
                lo = loss.run(lab, topo, pair, [int(x) for x in a.loss.split(",")], a.loss_duration, a.reps)
            except (LabError, subprocess.TimeoutExpired) as e:
                log(f"  loss: FAILED: {e}")
                lo = {"error": str(e)}
        sc = None
        if not a.no_scale:
            log("vpnhost scale figures")
            if not loadclient:
                sc = {"error": "vh_loadclient not found (build it: ninja -C build vh_loadclient)"}
            else:
                try:
                    sc = scale.run(lab, topo, vh, loadclient, 1 if a.quick else 3, a.cycles)
                except (LabError, subprocess.TimeoutExpired) as e:
                    log(f"  scale: FAILED: {e}")
                    sc = {"error": str(e)}
        prof = None
        if a.profile or not (a.no_profile or a.quick):
            if profile.perf_usable():
                log("perf profile of vpnhost during a 1-stream TCP run")
                try:
                    pv = next((s for s in every if s.key == a.profile_system), vh)
                    pv.prepare(lab, topo)
                    prof = profile.run(lab, topo, pv, a.duration, a.udp_duration, outdir)
                    prof["system"] = pv.label
                except (LabError, subprocess.TimeoutExpired) as e:
                    log(f"  profile: FAILED: {e}")
                    prof = {"error": str(e)}
                log("system calls and context switches per packet (perf stat)")
                prof["syscalls"] = profile.syscalls(lab, topo, [s for s in chosen if s.key != "raw"],
                                                    a.ping_count, a.udp_duration)
            else:
                prof = {"error": "perf not usable here"}
        summ = report.summarise(runs, keys)
        rat = report.ratios(summ, keys)
        tg = report.targets(summ, rat, sc)
        text = write_outputs(a, outdir, info, labels, keys, summ, rat, sc, tg, prof, detail,
                             time.time() - started, lo)
        print("\n" + text + "\n", flush=True)
        log(f"wrote {outdir}/results.json and {outdir}/table.md")
    except Interrupted as e:
        log(f"interrupted ({e}): cleaning up")
        rc = e.rc
    except LabError as e:
        log(f"FAILED: {e}")
        rc = 1
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, signal.SIG_IGN)  # the clean-up must not be cut short
        if not lab.cleanup():
            rc = rc or 1
        logs = os.path.join(outdir, "logs")
        try:
            os.makedirs(logs, exist_ok=True)
            for f in os.listdir(tmp):
                if f.endswith(".log"):
                    shutil.copy2(os.path.join(tmp, f), logs)
        except OSError:
            pass
        if a.keep_tmp:
            log(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
        log(f"done in {(time.time() - started) / 60:.1f} min (rc {rc})")
    return rc


if __name__ == "__main__":
    sys.exit(main())
