"""The bench's own lab: namespaces and processes it made, and their removal.

Everything runs inside network namespaces named <prefix>-<short>; processes
are started with `ip netns exec NS CMD` (which execs CMD, so Popen.pid is
CMD's own pid). cleanup() removes what this run made, by pid and by name, and
is safe to call more than once.
"""
import os
import signal
import subprocess
import time

WG_RUN_DIR = "/var/run/wireguard"


class LabError(RuntimeError):
    pass


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')} bench] {msg}", flush=True)


def alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
        return state not in ("Z", "X")
    except (OSError, IndexError):
        return False


class Lab:
    def __init__(self, prefix, tmp):
        self.prefix = prefix
        self.tmp = tmp
        self.namespaces = []
        self.procs = []  # every Popen this run started
        self.wg_dir_made = False
        self.starts = {}
        self.cleaned = False

    def ns(self, short):
        return f"{self.prefix}-{short}"

    # ------------------------------------------------------------ commands

    def sh(self, args, ns=None, timeout=30, check=True, env=None, input=None):
        """Runs a short command (in NS if given); returns its stdout."""
        cmd = (["ip", "netns", "exec", ns] if ns else []) + list(args)
        try:
            r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                               env=env, input=input)
        except subprocess.TimeoutExpired:
            raise LabError(f"timed out after {timeout}s: {' '.join(cmd)}")
        if check and r.returncode != 0:
            raise LabError(f"failed (rc {r.returncode}): {' '.join(cmd)}: {(r.stderr or r.stdout).strip()[-400:]}")
        return r.stdout

    def bg(self, ns, args, logname, env=None, stdin=subprocess.DEVNULL, stdout=None):
        """Starts a background process in NS; stdout+stderr to tmp/<logname>
        (or stdout=PIPE for a caller that reads it)."""
        # A fresh log per start (the readiness checks grep it).
        self.starts[logname] = n = self.starts.get(logname, 0) + 1
        if n > 1:
            base, ext = os.path.splitext(logname)
            logname = f"{base}-{n}{ext}"
        logf = open(os.path.join(self.tmp, logname), "wb")
        full_env = dict(os.environ)
        if env:
            full_env.update(env)
        p = subprocess.Popen(["ip", "netns", "exec", ns] + list(args), stdin=stdin,
                             stdout=stdout if stdout is not None else logf, stderr=logf,
                             env=full_env, close_fds=True)
        logf.close()
        p.bench_log = os.path.join(self.tmp, logname)
        self.procs.append(p)
        return p

    def stop(self, p, grace=5.0):
        if p.poll() is None:
            try:
                p.send_signal(signal.SIGTERM)
                p.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                log(f"pid {p.pid} ignored SIGTERM for {grace:.0f}s: SIGKILL")
                p.kill()
                try:
                    p.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    pass
            except ProcessLookupError:
                pass
        for s in (p.stdin, p.stdout):
            if s:
                try:
                    s.close()
                except OSError:
                    pass

    # ------------------------------------------------------------ topology

    def add_ns(self, short):
        name = self.ns(short)
        self.sh(["ip", "netns", "add", name])
        self.namespaces.append(name)
        self.sh(["ip", "-n", name, "link", "set", "lo", "up"])
        return name

    def note_wg_dir(self):
        if not os.path.isdir(WG_RUN_DIR):
            self.wg_dir_made = True

    # ------------------------------------------------------------- cleanup

    def cleanup(self):
        """Removes every process, namespace and wg socket of this run."""
        if self.cleaned:
            return True
        self.cleaned = True
        ok = True
        for p in self.procs:
            if p.poll() is None:
                try:
                    p.send_signal(signal.SIGTERM)
                except ProcessLookupError:
                    pass
        end = time.time() + 5
        for p in self.procs:
            try:
                p.wait(timeout=max(0.1, end - time.time()))
            except subprocess.TimeoutExpired:
                log(f"cleanup: pid {p.pid} still alive after SIGTERM: SIGKILL")
                p.kill()
                try:
                    p.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    ok = False
        for name in self.namespaces:
            r = subprocess.run(["ip", "netns", "pids", name], capture_output=True, text=True)
            left = r.stdout.split()
            if left:
                log(f"cleanup: processes left in {name}: {' '.join(left)}: SIGKILL")
                for pid in left:
                    try:
                        os.kill(int(pid), signal.SIGKILL)
                    except (ProcessLookupError, ValueError):
                        pass
                time.sleep(0.2)
            if subprocess.run(["ip", "netns", "del", name], capture_output=True).returncode != 0:
                log(f"cleanup: could not delete namespace {name}")
                ok = False
        if os.path.isdir(WG_RUN_DIR):
            for f in os.listdir(WG_RUN_DIR):
                if f.startswith(self.prefix + "-"):
                    try:
                        os.unlink(os.path.join(WG_RUN_DIR, f))
                    except OSError:
                        ok = False
            if self.wg_dir_made and not os.listdir(WG_RUN_DIR):
                try:
                    os.rmdir(WG_RUN_DIR)
                except OSError:
                    pass
        # Verify.
        left = [l for l in subprocess.run(["ip", "netns", "list"], capture_output=True,
                                          text=True).stdout.splitlines()
                if l.startswith(self.prefix + "-")]
        if left:
            log(f"cleanup: LEAK: namespaces left: {left}")
            ok = False
        for p in self.procs:
            if alive(p.pid):
                log(f"cleanup: LEAK: pid {p.pid} still alive")
                ok = False
        if ok:
            log(f"cleanup: {len(self.namespaces)} namespaces and {len(self.procs)} processes of run "
                f"{self.prefix} removed, nothing left")
        return ok
