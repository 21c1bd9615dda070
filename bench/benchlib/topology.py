"""Client A -> hub S -> client B over veth, all in namespaces of the run.

  <P>-a  <P>-a0 172.31.1.2/24  ==veth==  <P>-sa 172.31.1.1/24  <P>-s
  <P>-b  <P>-b0 172.31.2.2/24  ==veth==  <P>-sb 172.31.2.1/24  <P>-s

The veths are created inside S with the peer end put straight into A or B
(nothing in the root namespace). S forwards between the two links (the raw
underlay row) and disables ICMP redirects (wireguard-go's S routes packets
back out of the interface they came in on).
"""
from dataclasses import dataclass


@dataclass
class Topology:
    a: str
    s: str
    b: str
    a_ip: str = "172.31.1.2"
    s_ip_a: str = "172.31.1.1"  # S as seen from A
    s_ip_b: str = "172.31.2.1"  # S as seen from B
    b_ip: str = "172.31.2.2"


def build(lab):
    a, s, b = lab.add_ns("a"), lab.add_ns("s"), lab.add_ns("b")
    t = Topology(a, s, b)
    p = lab.prefix
    for side, ns, s_ip, c_ip in (("a", a, t.s_ip_a, t.a_ip), ("b", b, t.s_ip_b, t.b_ip)):
        s_dev, c_dev = f"{p}-s{side}", f"{p}-{side}0"
        lab.sh(["ip", "-n", s, "link", "add", s_dev, "type", "veth", "peer", "name", c_dev, "netns", ns])
        lab.sh(["ip", "-n", s, "addr", "add", f"{s_ip}/24", "dev", s_dev])
        lab.sh(["ip", "-n", ns, "addr", "add", f"{c_ip}/24", "dev", c_dev])
        lab.sh(["ip", "-n", s, "link", "set", s_dev, "up"])
        lab.sh(["ip", "-n", ns, "link", "set", c_dev, "up"])
    lab.sh(["ip", "-n", a, "route", "add", "172.31.2.0/24", "via", t.s_ip_a])
    lab.sh(["ip", "-n", b, "route", "add", "172.31.1.0/24", "via", t.s_ip_b])
    for ns in (a, s, b):  # per-namespace sysctls
        lab.sh(["sysctl", "-q", "-w", "net.ipv4.conf.all.send_redirects=0",
                "net.ipv4.conf.default.send_redirects=0"], ns=ns)
    lab.sh(["sysctl", "-q", "-w", "net.ipv4.ip_forward=1"], ns=s)
    lab.sh(["ping", "-n", "-q", "-c", "2", "-i", "0.2", "-W", "2", t.b_ip], ns=a)
    return t
