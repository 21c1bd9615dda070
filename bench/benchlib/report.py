"""Tables (markdown, printed and written to RESULTS-style files), ratios to
the two references, and the issue's targets checked against the medians."""
import statistics

FIGURES = [
    # key, label, unit, better
    ("tcp1_mbps", "TCP throughput, 1 stream", "Mbit/s", "higher"),
    ("tcp4_mbps", "TCP throughput, 4 streams", "Mbit/s", "higher"),
    ("udp64_pps", "UDP 64-byte packets delivered", "pkt/s", "higher"),
    ("rtt_avg_ms", "ping RTT avg", "ms", "lower"),
    ("rtt_p50_ms", "ping RTT median", "ms", "lower"),
    ("rtt_p99_ms", "ping RTT p99", "ms", "lower"),
    ("cpu_s_per_gb_1", "tunnel CPU per GB (1-stream TCP)", "CPU s/GB", "lower"),
    ("cpu_s_per_gb_4", "tunnel CPU per GB (4-stream TCP)", "CPU s/GB", "lower"),
]
REFS = (("openvpn-tcp", "×OpenVPN TCP"), ("wireguard-go", "×wireguard-go"))


def summary(values):
    v = [x for x in values if x is not None]
    if not v:
        return None
    return {"min": min(v), "median": statistics.median(v), "max": max(v), "n": len(v)}


def fmt(x, unit=""):
    if x is None:
        return "n/a"
    if unit in ("ms",):
        return f"{x:.3f}"
    if abs(x) >= 1000:
        return f"{x:,.0f}".replace(",", " ")
    if abs(x) >= 100:
        return f"{x:.0f}"
    if abs(x) >= 10:
        return f"{x:.1f}"
    return f"{x:.2f}"


def ratio(a, b):
    if a is None or b is None or b == 0:
        return None
    return a / b


def summarise(runs, system_keys):
    """runs: {system: [ {figure: value}, ... per repetition ]} -> {fig: {sys: summary}}"""
    out = {}
    for key, *_ in FIGURES:
        out[key] = {s: summary([r.get(key) for r in runs.get(s, [])]) for s in system_keys}
    return out


def ratios(summ, system_keys):
    out = {}
    for key, *_ in FIGURES:
        out[key] = {}
        for s in system_keys:
            me = summ[key][s]
            out[key][s] = {ref: ratio(me and me["median"], summ[key][ref] and summ[key][ref]["median"])
                           for ref, _ in REFS if ref in summ[key]}
    return out


def main_table(summ, rat, labels, system_keys):
    lines = ["| figure | system | min | median | max | " + " | ".join(l for _, l in REFS) + " |",
             "|---|---|--:|--:|--:|" + "--:|" * len(REFS)]
    for key, label, unit, better in FIGURES:
        first = True
        for s in system_keys:
            m = summ[key][s]
            cells = [f"{label} ({unit}, {better} is better)" if first else "", labels[s]]
            cells += [fmt(m and m[k], unit) for k in ("min", "median", "max")]
            for ref, _ in REFS:
                r = rat[key][s].get(ref)
                cells.append("n/a" if r is None else f"{r:.2f}")
            lines.append("| " + " | ".join(cells) + " |")
            first = False
    return "\n".join(lines)


def cpu_table(detail, labels, system_keys):
    """Cores used by each tunnel process during the 1-stream TCP test, and how
    busy the whole machine was (everyone's work: iperf3, kernel, other users)."""
    rows = ["| system | hub S (cores) | client A (cores) | client B (cores) | whole machine busy |",
            "|---|--:|--:|--:|--:|"]
    for s in system_keys:
        per, busy = [], []
        for rep in detail.get(s, []):
            t = rep["raw"].get("tcp1")
            if not t:
                continue
            secs = t.get("seconds") or 1
            if t.get("cpu_per_proc"):
                per.append([c / secs for c in t["cpu_per_proc"]])
            busy.append(t.get("machine_busy"))
        cells = [labels[s]]
        for i in range(3):
            v = summary([p[i] for p in per if len(p) > i])
            cells.append("n/a" if v is None else f"{v['median']:.2f}")
        b = summary(busy)
        cells.append("n/a" if b is None else f"{b['median'] * 100:.0f} %")
        rows.append("| " + " | ".join(cells) + " |")
    return "\n".join(rows)


def syscall_table(sc, labels):
    """Per tunnel process: system calls (sc) and context switches (cs) per
    ping and per delivered 64-byte packet, and the CPU microseconds per
    delivered packet (task clock / packets) of all three together."""
    if not sc:
        return "(not measured)"
    rows = ["| system | per ping: S sc/cs | A sc/cs | B sc/cs | per 64-B packet: S sc/cs | A sc/cs | B sc/cs "
            "| CPU µs per 64-B packet (S+A+B) |",
            "|---|--:|--:|--:|--:|--:|--:|--:|"]
    for key, r in sc.items():
        if "error" in r:
            rows.append(f"| {labels.get(key, key)} | failed: {r['error'][:80]} ||||||| ")
            continue
        cells = [labels.get(key, key)]
        for phase in ("ping", "udp64"):
            for who in ("S", "A", "B"):
                d = r[phase].get(who, {})
                a, b = d.get("syscalls"), d.get("ctxsw")
                cells.append("n/a" if a is None or b is None else f"{a:.1f} / {b:.2f}")
        us = r.get("udp64_us_per_packet")
        cells.append("n/a" if us is None else f"{us:.1f}")
        rows.append("| " + " | ".join(cells) + " |")
    return "\n".join(rows)


def scale_table(sc):
    if not sc:
        return "(scale figures not measured)"
    if "error" in sc and "rss_0_kib" not in sc:
        return f"scale: FAILED: {sc['error']}"
    s = lambda k: summary(sc.get(k, []))
    conn, per, r253 = s("connect_253_s"), s("per_session_kib"), s("rss_253_kib")
    rows = [
        "| figure | min | median | max |", "|---|--:|--:|--:|",
        f"| server RSS, 0 sessions (KiB) | | {sc.get('rss_0_kib', 'n/a')} | |",
    ]
    if r253:
        rows.append(f"| server RSS, 253 idle sessions (KiB) | {r253['min']} | {r253['median']:.0f} | {r253['max']} |")
    if per:
        rows.append(f"| per-session cost (KiB) = (RSS253 − RSS0)/253 | {per['min']:.1f} | {per['median']:.1f} | "
                    f"{per['max']:.1f} |")
    if conn:
        rows.append(f"| 253 clients connecting at once: all WELCOMEd (ms) | {conn['min'] * 1000:.0f} | "
                    f"{conn['median'] * 1000:.0f} | {conn['max'] * 1000:.0f} |")
    if "rss_after_churn_kib" in sc:
        rows.append(f"| churn: {sc['cycles']} connect/disconnect cycles ({sc.get('churn_tool')}) took (s) | | "
                    f"{sc['churn_s']:.1f} | |")
        rows.append(f"| server RSS before churn → after churn (KiB) | | {sc['rss_before_churn_kib']} → "
                    f"{sc['rss_after_churn_kib']} (Δ {sc['churn_delta_kib']:+d}; Δ from server start "
                    f"{sc['churn_delta_from_start_kib']:+d}) | |")
    if "error" in sc:
        rows.append(f"\nscale: FAILED part way: {sc['error']}")
    return "\n".join(rows)


def targets(summ, rat, sc):
    """The issue's targets against this run's medians: [(text, value, met)]"""
    out = []

    def r(key, ref):
        return rat.get(key, {}).get("vpnhost", {}).get(ref)

    def add(text, val, ok, shown):
        out.append((text, shown if val is not None else "n/a", None if val is None else ok))

    v = r("tcp1_mbps", "openvpn-tcp")
    add("1-stream TCP ≥ 3× OpenVPN TCP", v, v is not None and v >= 3, f"{v:.2f}×" if v else "")
    v = r("tcp1_mbps", "wireguard-go")
    add("1-stream TCP ≥ 1× wireguard-go", v, v is not None and v >= 1, f"{v:.2f}×" if v else "")
    v = r("udp64_pps", "openvpn-tcp")
    add("small-packet rate ≥ 3× OpenVPN TCP", v, v is not None and v >= 3, f"{v:.2f}×" if v else "")
    v = rat.get("tcp1_mbps", {}).get("vpnhost-udp-noise", {}).get("wireguard-go")
    if "vpnhost-udp-noise" in rat.get("tcp1_mbps", {}):
        add("1-stream TCP, vpnhost UDP + cipher_noise ≥ 1.5× wireguard-go (issue 10)", v, v is not None and v >= 1.5,
            f"{v:.2f}×" if v else "")
    v = r("rtt_avg_ms", "openvpn-tcp")
    add("ping RTT (avg) ≤ 0.5× OpenVPN TCP", v, v is not None and v <= 0.5, f"{v:.2f}×" if v else "")
    per = summary((sc or {}).get("per_session_kib", []))
    v = per and per["median"]
    add("idle session cost ≤ 64 KiB", v, v is not None and v <= 64, f"{v:.1f} KiB" if v is not None else "")
    conn = summary((sc or {}).get("connect_253_s", []))
    v = conn and conn["median"]
    add("253 clients connected in < 1 s", v, v is not None and v < 1, f"{v * 1000:.0f} ms" if v else "")
    v = (sc or {}).get("churn_delta_kib")
    add("churn leaves RSS within 5 MiB", v, v is not None and abs(v) <= 5 * 1024,
        f"{v:+d} KiB" if v is not None else "")
    return out


def targets_table(tg):
    rows = ["| target (issues 8, 10) | this run | met |", "|---|--:|:-:|"]
    for text, shown, ok in tg:
        rows.append(f"| {text} | {shown} | {'n/a' if ok is None else ('yes' if ok else 'NO')} |")
    return "\n".join(rows)


def loss_table(lo):
    """Goodput of vpnhost over TCP vs UDP transport at each loss rate: median
    Mbit/s (min-max), and UDP / TCP."""
    if not lo:
        return "(not measured)"
    if "error" in lo:
        return f"loss: FAILED: {lo['error']}"
    losses = list(next(iter(lo.values())).keys())
    rows = ["| underlay loss | vpnhost TCP transport (Mbit/s) | vpnhost UDP transport (Mbit/s) | UDP / TCP "
            "| tunnel packets dropped (TCP; UDP) |", "|--:|--:|--:|--:|--:|"]
    for l in losses:
        cells, med, drops = [f"{l} %"], {}, []
        for t in ("tcp", "udp"):
            runs = lo.get(t, {}).get(l, [])
            s = summary([r.get("mbps") for r in runs])
            med[t] = s and s["median"]
            cells.append("n/a" if s is None else f"{fmt(s['median'])} ({fmt(s['min'])}–{fmt(s['max'])})")
            d = summary([r.get("dropped") for r in runs])
            drops.append("n/a" if d is None else f"{d['median']:.0f}")
        r = ratio(med.get("udp"), med.get("tcp"))
        cells.append("n/a" if r is None else f"{r:.2f}")
        cells.append("; ".join(drops))
        rows.append("| " + " | ".join(cells) + " |")
    return "\n".join(rows)
