"""The things compared: raw forwarding, OpenVPN TCP/UDP, wireguard-go,
vpnhost with its stock manifests over TCP (cipher_xor) and over UDP
(cipher_xor, and cipher_noise with the secure manifests). Each brings its tunnel up between A, S and B,
knows B's address on it and the pids of its tunnel processes, and takes it
down again.
"""
import os
import re
import subprocess
import time

from .lab import LabError, log


def wait_until(pred, timeout, what, procs=()):
    end = time.time() + timeout
    while True:
        if pred():
            return
        for p in procs:
            if p.poll() is not None:
                tail = ""
                try:
                    with open(p.bench_log, errors="replace") as f:
                        tail = "".join(f.readlines()[-15:])
                except OSError:
                    pass
                raise LabError(f"{what}: pid {p.pid} exited (rc {p.returncode}) first:\n{tail}")
        if time.time() > end:
            raise LabError(f"{what}: not within {timeout}s")
        time.sleep(0.1)


def log_has(p, pattern):
    try:
        with open(p.bench_log, errors="replace") as f:
            return re.search(pattern, f.read()) is not None
    except OSError:
        return False


def ping_ok(lab, ns, dst):
    r = subprocess.run(["ip", "netns", "exec", ns, "ping", "-n", "-q", "-c", "1", "-W", "1", dst],
                       capture_output=True)
    return r.returncode == 0


class System:
    key = ""
    label = ""
    dst = ""       # B's address on this system
    procs = ()     # the tunnel processes (S and both clients)

    def prepare(self, lab, topo):
        pass

    def up(self, lab, topo):
        pass

    def down(self, lab):
        for p in self.procs:
            lab.stop(p)
        self.procs = ()

    def ready(self, lab, topo, timeout=20):
        wait_until(lambda: ping_ok(lab, topo.a, self.dst), timeout, f"{self.label}: A pings B at {self.dst}",
                   self.procs)


class Raw(System):
    key, label = "raw", "raw veth forwarding"

    def up(self, lab, topo):
        self.dst = topo.b_ip
        self.procs = ()


# ------------------------------------------------------------------ OpenVPN

def make_pki(lab, d):
    """A throw-away EC CA, a server and two client certificates."""
    os.makedirs(d, exist_ok=True)
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    lab.sh(["openssl", "req", "-x509", *ec, "-keyout", f"{d}/ca.key", "-out", f"{d}/ca.crt", "-days", "2",
            "-subj", "/CN=vpnhost-bench-ca", "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign"])
    for name, eku in (("server", "serverAuth"), ("clientA", "clientAuth"), ("clientB", "clientAuth")):
        ext = f"{d}/{name}.ext"
        with open(ext, "w") as f:
            f.write(f"basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyAgreement\n"
                    f"extendedKeyUsage={eku}\n")
        lab.sh(["openssl", "req", *ec, "-keyout", f"{d}/{name}.key", "-out", f"{d}/{name}.csr",
                "-subj", f"/CN={name}"])
        lab.sh(["openssl", "x509", "-req", "-in", f"{d}/{name}.csr", "-CA", f"{d}/ca.crt", "-CAkey",
                f"{d}/ca.key", "-CAcreateserial", "-out", f"{d}/{name}.crt", "-days", "2", "-extfile", ext])
    os.makedirs(f"{d}/ccd", exist_ok=True)
    for name, last in (("clientA", 2), ("clientB", 3)):
        with open(f"{d}/ccd/{name}", "w") as f:
            f.write(f"ifconfig-push 10.10.2.{last} 255.255.255.0\n")


class OpenVPN(System):
    """OpenVPN 2.6, userspace data path (--disable-dco), AES-256-GCM,
    --client-to-client: A->B traffic stays inside the server process."""

    def __init__(self, proto):
        self.proto = proto
        self.key = f"openvpn-{proto}"
        self.label = f"OpenVPN {proto.upper()}"

    def prepare(self, lab, topo):
        self.pki = os.path.join(lab.tmp, "pki")
        if not os.path.exists(f"{self.pki}/clientB.crt"):
            make_pki(lab, self.pki)

    def up(self, lab, topo):
        d, dev = self.pki, f"{lab.prefix}-ot"
        common = ["--dev", dev, "--dev-type", "tun", "--ca", f"{d}/ca.crt", "--disable-dco",
                  "--data-ciphers", "AES-256-GCM", "--verb", "3"]
        srv_proto = "tcp-server" if self.proto == "tcp" else "udp"
        cli_proto = "tcp-client" if self.proto == "tcp" else "udp"
        srv = lab.bg(topo.s, ["openvpn", "--proto", srv_proto, "--port", "1194", "--topology", "subnet",
                              "--server", "10.10.2.0", "255.255.255.0", "--client-config-dir", f"{d}/ccd",
                              "--client-to-client", "--cert", f"{d}/server.crt", "--key", f"{d}/server.key",
                              "--dh", "none", "--keepalive", "10", "60", *common], f"{self.key}-s.log")
        self.procs = (srv,)
        wait_until(lambda: log_has(srv, "Initialization Sequence Completed"), 15, f"{self.label} server", [srv])
        clients = []
        for ns, remote, cert in ((topo.a, topo.s_ip_a, "clientA"), (topo.b, topo.s_ip_b, "clientB")):
            clients.append(lab.bg(ns, ["openvpn", "--client", "--proto", cli_proto, "--remote", remote, "1194",
                                       "--nobind", "--cert", f"{d}/{cert}.crt", "--key", f"{d}/{cert}.key",
                                       "--remote-cert-tls", "server", *common], f"{self.key}-{cert}.log"))
        self.procs = (srv, *clients)
        for c in clients:
            wait_until(lambda: log_has(c, "Initialization Sequence Completed"), 30, f"{self.label} client",
                       self.procs)
        self.dst = "10.10.2.3"
        self.ready(lab, topo)


# -------------------------------------------------------------- wireguard-go

class WireGuardGo(System):
    """wireguard-go (userspace). S has a peer for A and one for B; the kernel
    in S routes A->B back out of S's wg interface."""
    key, label = "wireguard-go", "wireguard-go"

    def prepare(self, lab, topo):
        self.keys = {}
        for who in ("s", "a", "b"):
            priv = lab.sh(["wg", "genkey"]).strip()
            pub = lab.sh(["wg", "pubkey"], input=priv + "\n").strip()
            path = os.path.join(lab.tmp, f"wg-{who}.key")
            with open(path, "w") as f:
                f.write(priv + "\n")
            os.chmod(path, 0o600)
            self.keys[who] = (path, pub)

    def up(self, lab, topo):
        lab.note_wg_dir()
        p = lab.prefix
        env = {"WG_PROCESS_FOREGROUND": "1", "LOG_LEVEL": "error"}
        spec = (("s", topo.s, "10.10.1.1"), ("a", topo.a, "10.10.1.2"), ("b", topo.b, "10.10.1.3"))
        procs = []
        for who, ns, _ in spec:
            procs.append(lab.bg(ns, ["wireguard-go", "-f", f"{p}-wg{who}"], f"wg-{who}.log", env=env))
        self.procs = tuple(procs)
        for who, _, _ in spec:
            sock = f"/var/run/wireguard/{p}-wg{who}.sock"
            wait_until(lambda: os.path.exists(sock), 10, f"wireguard-go {who}: {sock}", self.procs)
        k = self.keys
        lab.sh(["wg", "set", f"{p}-wgs", "listen-port", "51820", "private-key", k["s"][0],
                "peer", k["a"][1], "allowed-ips", "10.10.1.2/32",
                "peer", k["b"][1], "allowed-ips", "10.10.1.3/32"], ns=topo.s)
        for who, ns, remote in (("a", topo.a, topo.s_ip_a), ("b", topo.b, topo.s_ip_b)):
            lab.sh(["wg", "set", f"{p}-wg{who}", "private-key", k[who][0], "peer", k["s"][1],
                    "endpoint", f"{remote}:51820", "allowed-ips", "10.10.1.0/24",
                    "persistent-keepalive", "25"], ns=ns)
        for who, ns, addr in spec:
            lab.sh(["ip", "-n", ns, "addr", "add", f"{addr}/24", "dev", f"{p}-wg{who}"])
            lab.sh(["ip", "-n", ns, "link", "set", f"{p}-wg{who}", "up"])
        self.dst = "10.10.1.3"
        self.ready(lab, topo)


# ------------------------------------------------------------------ vpnhost

class Vpnhost(System):
    """vpnhost with a stock server/client manifest pair (server.manifest and
    client.manifest by default); only the keys, the server address and the
    TUN name are overridden. transport "udp" takes the *-udp manifests;
    cipher "noise" the secure-* ones (a key pair per host, the clients in
    the server's authorized_clients)."""

    def __init__(self, binary, manifests, transport="tcp", cipher="xor"):
        self.binary = binary
        self.manifests = manifests
        self.transport = transport
        self.cipher = cipher
        udp = "-udp" if transport == "udp" else ""
        secure = "secure-" if cipher == "noise" else ""
        self.server_manifest = f"{secure}server{udp}.manifest"
        self.client_manifest = f"{secure}client{udp}.manifest"
        if transport == "tcp" and cipher == "xor":
            self.key, self.label = "vpnhost", "vpnhost (stock)"
        else:
            self.key = f"vpnhost-{transport}" + ("-noise" if cipher == "noise" else "")
            self.label = f"vpnhost {transport.upper()} {'cipher_noise' if cipher == 'noise' else 'cipher_xor'}"
        self.extra = []  # more --set options for every process (e.g. transport.gso=false)

    def prepare(self, lab, topo):
        self.keyfile = os.path.join(lab.tmp, "xor.key")
        if not os.path.exists(self.keyfile):
            lab.sh([self.binary, "keygen", self.keyfile])
        if self.cipher == "noise":
            d = os.path.join(lab.tmp, "noise")
            os.makedirs(d, exist_ok=True)
            self.noise_pub = {}
            for who in ("s", "a", "b"):
                key = os.path.join(d, f"{who}.key")
                if not os.path.exists(key):
                    lab.sh([self.binary, "keygen", key])
                self.noise_pub[who] = lab.sh([self.binary, "pubkey"], input=open(key).read()).strip()
            self.authorized = os.path.join(d, "authorized_clients")
            with open(self.authorized, "w") as f:
                f.write(f"{self.noise_pub['a']} bench-a\n{self.noise_pub['b']} bench-b\n")
            os.chmod(self.authorized, 0o644)
            self.noise_dir = d

    def _keys(self, who):
        if self.cipher == "noise":
            k = ["--set", f"cipher.private_key_file={self.noise_dir}/{who}.key"]
            if who == "s":
                return k + ["--set", f"cipher.authorized_clients={self.authorized}"]
            return k + ["--set", f"cipher.server_public_key={self.noise_pub['s']}"]
        return ["--set", f"cipher.key_file={self.keyfile}"]

    def start_server(self, lab, topo, logname, extra=()):
        srv = lab.bg(topo.s, [self.binary, "--plugins", f"{self.manifests}/{self.server_manifest}",
                              *self._keys("s"), *self.extra, *extra], logname)
        flag = "-Hlun" if self.transport == "udp" else "-Hltn"
        wait_until(lambda: lab.sh(["ss", flag, "sport = :5000"], ns=topo.s, check=False).strip() != "",
                   15, "vpnhost server listening on :5000", [srv])
        return srv

    def up(self, lab, topo):
        srv = self.start_server(lab, topo, f"{self.key}-s.log")
        self.procs = (srv,)
        addrs = []
        for who, ns, remote in (("a", topo.a, topo.s_ip_a), ("b", topo.b, topo.s_ip_b)):
            c = lab.bg(ns, [self.binary, "--plugins", f"{self.manifests}/{self.client_manifest}",
                            "--set", f"transport.connect={remote}", *self._keys(who), *self.extra,
                            "--set", f"device.name={lab.prefix}-vt"], f"{self.key}-{who}.log")
            self.procs = (*self.procs, c)
            pat = r"assigned (10\.10\.0\.\d+)/24"
            wait_until(lambda: log_has(c, pat), 15, f"vpnhost client {who}: assigned address", self.procs)
            with open(c.bench_log, errors="replace") as f:
                addrs.append(re.findall(pat, f.read())[-1])
        self.dst = addrs[1]
        # The device is configured right after the log line.
        wait_until(lambda: f"inet {self.dst}/" in lab.sh(["ip", "-o", "-4", "addr"], ns=topo.b), 5,
                   "vpnhost client b: TUN address", self.procs)
        self.ready(lab, topo)


def all_systems(vpnhost_bin, manifests):
    return [Raw(), OpenVPN("tcp"), OpenVPN("udp"), WireGuardGo(), Vpnhost(vpnhost_bin, manifests),
            Vpnhost(vpnhost_bin, manifests, "udp"), Vpnhost(vpnhost_bin, manifests, "udp", "noise")]
