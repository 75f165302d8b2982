#!/usr/bin/env python3
"""kexboot's fetcher against the usual clients, same file, same link, one run:
`kexboot fetch` vs `curl` for HTTP and HTTPS (nginx), vs tftp-hpa's `tftp` for TFTP
(tftpd-hpa), on loopback and with 1 ms and 10 ms of added delay each way. The delay comes
from Tests/Support/impair.py, a relay in front of the server (this host's kernel has no
tc netem); both clients go through the same relay.

Usage (as root): bench/fetch-bench.py BIN [--runs N]
Prints one table; each figure is the median of N runs (default 5), MB/s of payload.
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

IMPAIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "Support", "impair.py")


def sh(cmd, **kw):
    return subprocess.run(cmd, shell=True, check=True, capture_output=True, text=True, **kw).stdout


def relay(mode, port, delay):
    """impair.py in front of `port`; returns (process, its port)."""
    p = subprocess.Popen([sys.executable, IMPAIR, mode, str(port), "--delay", str(delay)],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    return p, int(p.stdout.readline())


def timed(cmd):
    """(whole command's seconds, the transfer's own seconds as the tool reports it or None)."""
    start = time.monotonic()
    out = subprocess.run(cmd, shell=True, check=True, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True).stdout
    total = time.monotonic() - start
    inner = None
    last = out.strip().split("\n")[-1] if out.strip() else ""
    if last.endswith(" s") and "," in last:          # kexboot fetch --verbose: "…, 0.123 s"
        inner = float(last.rsplit(",", 1)[1].strip()[:-2])
    elif last.replace(".", "", 1).isdigit():          # curl -w '%{time_total}'
        inner = float(last)
    return total, inner


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("bin")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    binary = os.path.abspath(args.bin)
    work = tempfile.mkdtemp(prefix="kexboot-fetch-bench-")
    www = f"{work}/www"
    os.makedirs(www)
    # Files by size; random bytes so nothing compresses.
    sizes = {"big": 64 << 20, "mid": 8 << 20, "small": 1 << 20}
    for name, size in sizes.items():
        with open(f"{www}/{name}", "wb") as f:
            f.write(os.urandom(size))
    sh(f"chmod -R a+rX {work}")
    sh(f"cd {work} && openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj '/CN=bench CA' -keyout ca.key -out ca.crt 2>&1")
    # Both clients check against the same bundle: the system's plus the test CA (kexboot
    # builds that itself from --ca-file; curl is handed the combined file).
    sh(f"cat /etc/ssl/certs/ca-certificates.crt {work}/ca.crt > {work}/bundle.crt")
    sh(f"cd {work} && openssl req -newkey rsa:2048 -nodes -subj '/CN=127.0.0.1' -keyout srv.key -out srv.csr 2>&1 && "
       f"printf 'subjectAltName=IP:127.0.0.1\\n' > srv.ext && "
       f"openssl x509 -req -in srv.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 -extfile srv.ext -out srv.crt 2>&1")
    with open(f"{work}/nginx.conf", "w") as f:
        f.write(f"""daemon off; worker_processes 1; pid {work}/nginx.pid; error_log {work}/nginx.err;
events {{ worker_connections 64; }}
http {{ access_log off; sendfile on; tcp_nopush on; types {{ }} default_type application/octet-stream;
  client_body_temp_path {work}/t1; proxy_temp_path {work}/t2; fastcgi_temp_path {work}/t3; uwsgi_temp_path {work}/t4; scgi_temp_path {work}/t5;
  server {{ listen 127.0.0.1:8080; root {www}; }}
  server {{ listen 127.0.0.1:8443 ssl; root {www}; ssl_certificate {work}/srv.crt; ssl_certificate_key {work}/srv.key; }}
}}
""")
    procs = []
    try:
        procs.append(subprocess.Popen(f"nginx -c {work}/nginx.conf", shell=True))
        procs.append(subprocess.Popen(f"/usr/sbin/in.tftpd -L -u root -s -a 127.0.0.1:6969 {www}", shell=True,
                                      stderr=subprocess.DEVNULL))
        time.sleep(1)
        out = f"{work}/out"
        rows = []
        print(f"relay: {IMPAIR} (delay each way)", flush=True)
        for delay in [0, 1, 10]:
            ports = {"http": 8080, "https": 8443, "tftp": 6969}
            if delay:
                for name, mode in [("http", "tcp"), ("https", "tcp"), ("tftp", "udp")]:
                    p, ports[name] = relay(mode, ports[name], delay)
                    procs.append(p)
            http_file = "big" if delay == 0 else ("mid" if delay == 1 else "small")
            tftp_file = "mid" if delay == 0 else "small"
            cases = [
                ("HTTP", http_file,
                 f"{binary} fetch --verbose http://127.0.0.1:{ports['http']}/{http_file} -o {out}",
                 f"curl -sf -w '%{{time_total}}\\n' -o {out} http://127.0.0.1:{ports['http']}/{http_file}"),
                ("HTTPS", http_file,
                 f"{binary} fetch --verbose https://127.0.0.1:{ports['https']}/{http_file} -o {out} --ca-file {work}/ca.crt",
                 f"curl -sf -w '%{{time_total}}\\n' --cacert {work}/bundle.crt -o {out} https://127.0.0.1:{ports['https']}/{http_file}"),
                ("TFTP", tftp_file,
                 f"{binary} fetch --verbose tftp://127.0.0.1:{ports['tftp']}/{tftp_file} -o {out}",
                 f"tftp -m binary 127.0.0.1 {ports['tftp']} -c get {tftp_file} {out}"),
            ]
            for proto, name, ours, theirs in cases:
                t_ours, t_theirs = [], []
                for _ in range(args.runs):
                    t_theirs.append(timed(theirs))
                    assert os.path.getsize(out) == sizes[name], f"{theirs}: short file"
                    os.remove(out)
                    t_ours.append(timed(ours))
                    assert os.path.getsize(out) == sizes[name], f"{ours}: short file"
                    os.remove(out)
                mb = sizes[name] / 1e6
                a, b = statistics.median(t[0] for t in t_ours), statistics.median(t[0] for t in t_theirs)
                row = [proto, f"{delay} ms", f"{sizes[name] >> 20} MiB", mb / a, mb / b, b / a]
                if all(t[1] for t in t_ours + t_theirs):
                    ai, bi = statistics.median(t[1] for t in t_ours), statistics.median(t[1] for t in t_theirs)
                    row += [mb / ai, mb / bi, bi / ai]
                rows.append(row)
        baseline = {"HTTP": "curl", "HTTPS": "curl", "TFTP": "tftp-hpa"}
        print("whole commands (process start included), and the transfer alone as each tool times it")
        print(f"{'protocol':8} {'delay':>6} {'file':>7} {'kexboot':>8} {'baseline':>9} {'ratio':>6} | "
              f"{'transfer: kexboot':>17} {'baseline':>9} {'ratio':>6}  (MB/s)  baseline")
        for r in rows:
            inner = f"{r[6]:17.1f} {r[7]:9.1f} {r[8]:6.2f}" if len(r) > 6 else f"{'-':>17} {'-':>9} {'-':>6}"
            print(f"{r[0]:8} {r[1]:>6} {r[2]:>7} {r[3]:8.1f} {r[4]:9.1f} {r[5]:6.2f} | {inner}          {baseline[r[0]]}")
    finally:
        for p in procs:
            p.kill()
        subprocess.run(f"pkill -f 'nginx -c {work}/nginx.conf'", shell=True)
        subprocess.run(f"pkill -f 'in.tftpd -L -u root -s -a 127.0.0.1:6969 {www}'", shell=True)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
