"""Goodput of vpnhost over a lossy underlay: transport_tcp (TCP in TCP)
against transport_udp, both with cipher_xor (manifests server/client and
server-udp/client-udp), at 0, 1 and 3 % random loss on A's link.

This kernel has no netem: the loss is an nftables rule `numgen random mod
100 < N drop`, in both directions on A's link, on the tunnel's packets only
(port 5000), at the receiving end (S's input for A -> S, A's input for
S -> A). Loss on a real link hits wire packets, not the sender's TSO/GSO
bursts, so for this phase both ends of A's link get gso_max_segs 1: every
TCP segment and UDP datagram crosses the veth (and the rule) on its own.
That costs some throughput, so the 0 % row of this phase is the reference
for the lossy rows, not the main table.

The figure is iperf3's receiver goodput (one TCP stream A -> B through the
tunnel, `end.sum_received`), over a fixed time: TCP in TCP may crawl at 3 %,
a timed test stays bounded.
"""
import subprocess

from . import measure
from .lab import LabError, log


def _link(lab, topo, segs):
    p = lab.prefix
    lab.sh(["ip", "-n", topo.a, "link", "set", f"{p}-a0", "gso_max_segs", str(segs)])
    lab.sh(["ip", "-n", topo.s, "link", "set", f"{p}-sa", "gso_max_segs", str(segs)])


def _rules(lab, topo, percent):
    for ns in (topo.a, topo.s):
        lab.sh(["nft", "delete", "table", "inet", "vbloss"], ns=ns, check=False)
    if percent <= 0:
        return
    p = lab.prefix
    def table(match):
        return ("table inet vbloss {\n  chain in {\n    type filter hook input priority 0;\n"
                f"    {match} meta l4proto {{ tcp, udp }} numgen random mod 100 < {percent} counter drop\n  }}\n}}\n")
    s_rules = table(f'iifname "{p}-sa" th dport 5000')
    a_rules = table("th sport 5000")
    lab.sh(["nft", "-f", "-"], ns=topo.s, input=s_rules)
    lab.sh(["nft", "-f", "-"], ns=topo.a, input=a_rules)


def _dropped(lab, topo):
    total = 0
    for ns in (topo.a, topo.s):
        out = lab.sh(["nft", "list", "table", "inet", "vbloss"], ns=ns, check=False)
        for word in out.split("packets ")[1:]:
            total += int(word.split()[0])
    return total


def run(lab, topo, systems, losses, duration, reps):
    """systems: {"tcp": Vpnhost, "udp": Vpnhost}. Returns
    {transport: {str(loss): [ {mbps, dropped, retransmits} | {error} ... ]}}."""
    out = {t: {str(l): [] for l in losses} for t in systems}
    _link(lab, topo, 1)
    try:
        for rep in range(reps):
            for t, vh in systems.items():
                log(f"loss rep {rep + 1}/{reps}: vpnhost over {t.upper()}")
                try:
                    vh.up(lab, topo)
                except LabError as e:
                    log(f"  {vh.key}: FAILED to set up: {e}")
                    for l in losses:
                        out[t][str(l)].append({"error": f"setup: {e}"})
                    vh.down(lab)
                    continue
                srv = lab.bg(topo.b, ["iperf3", "-s", "-p", measure.IPERF_PORT], f"iperf3-loss-{t}.log")
                try:
                    measure.wait_listening(lab, topo, srv)
                    for l in losses:
                        try:
                            _rules(lab, topo, l)
                            r = measure.tcp(lab, topo, vh, 1, duration)
                            out[t][str(l)].append({"mbps": r["mbps"], "dropped": _dropped(lab, topo),
                                                   "retransmits": r["retransmits"]})
                            log(f"  {t} at {l} %: {r['mbps']:.0f} Mbit/s")
                        except (LabError, subprocess.TimeoutExpired, KeyError, OSError) as e:
                            out[t][str(l)].append({"error": str(e)})
                            log(f"  {t} at {l} %: FAILED: {e}")
                        finally:
                            _rules(lab, topo, 0)
                finally:
                    lab.stop(srv)
                    vh.down(lab)
    finally:
        _link(lab, topo, 65535)
    return out
