"""netns — for tests that publish DNS records of their own: the test runs
again inside `unshare --net --mount` (a private loopback, and a private
/etc/resolv.conf bind-mounted over the real one, so the machine's DNS is
never touched) and starts dnsmasq there as the only name server.

    import netns
    netns.enter(__file__)                  # returns only inside the namespace
    netns.local_resolver(tmp)              # lo up; resolv.conf -> 127.0.0.1
    conf = netns.dnsmasq_conf(tmp, ["host-record=mx.a.test,127.0.0.2", ...])
    dns, up = netns.dnsmasq(conf, "mx.a.test", "127.0.0.2")
"""
import os, shutil, socket, subprocess, sys, time

TOOLS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools")


def enter(script, also=()):
    """Outside the namespace: print a TAP skip and exit when it cannot be
    made (not root, no unshare/ip/dnsmasq, or a check of also — pairs of
    (predicate, reason) — fails), else run script inside it and exit with
    its status. Inside: return."""
    if os.environ.get("YUBIN_IN_NETNS") == "1":
        return
    why = None
    if os.geteuid() != 0:
        why = "needs root for unshare --net --mount"
    elif not shutil.which("unshare") or not shutil.which("ip"):
        why = "unshare or ip missing"
    elif not shutil.which("dnsmasq") and subprocess.run(
            [os.path.join(TOOLS, "need-packages"), "dnsmasq-base"], capture_output=True).returncode != 0:
        why = "dnsmasq (package dnsmasq-base) is not installed"
    else:
        why = next((reason for ok, reason in also if not ok()), None)
    if not why and subprocess.run(["unshare", "--net", "--mount", "true"], capture_output=True).returncode != 0:
        why = "this machine does not allow network namespaces"
    if why:
        print("1..0 # SKIP " + why)
        sys.exit(0)
    r = subprocess.run(["unshare", "--net", "--mount", sys.executable, os.path.abspath(script)],
                       env=dict(os.environ, YUBIN_IN_NETNS="1"))
    sys.exit(r.returncode)


def local_resolver(tmp):
    """bring up the namespace's loopback and make 127.0.0.1 the resolver"""
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    resolv = os.path.join(tmp, "resolv.conf")
    with open(resolv, "w") as f:
        f.write("nameserver 127.0.0.1\noptions attempts:1 timeout:2\n")
    os.chmod(resolv, 0o644)  # read by unprivileged yubin programs too
    subprocess.run(["mount", "--bind", resolv, "/etc/resolv.conf"], check=True)


def dnsmasq_conf(tmp, records, name="dnsmasq.conf"):
    """a dnsmasq configuration answering for .test (and what records add)
    on 127.0.0.1:53 from nothing but records; returns its path"""
    conf = os.path.join(tmp, name)
    with open(conf, "w") as f:
        f.write("port=53\nlisten-address=127.0.0.1\nbind-interfaces\nno-resolv\nno-hosts\n"
                "local=/test/\nuser=root\npid-file=\n")
        f.write("".join(line + "\n" for line in records))
    return conf


def dnsmasq(conf, probe, want, timeout=30):
    """start dnsmasq on conf; (process, True once probe resolves to want)"""
    p = subprocess.Popen(["dnsmasq", "-k", "-C", conf], stderr=subprocess.DEVNULL)

    def up():
        try:
            return socket.gethostbyname(probe) == want
        except OSError:
            return False
    deadline = time.time() + timeout
    while not up() and time.time() < deadline:
        time.sleep(0.1)
    return p, up()
