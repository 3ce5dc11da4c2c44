"""Load test of `humanseg serve`: the server runs in its own process on loopback; many concurrent
clients post the example photo for a bounded time. Prints requests/s, p50/p99 latency, error
counts (503s from back-pressure counted apart) and the server's peak resident memory.

    python benchmarks/load_server.py [--clients 16] [--seconds 20] [--workers 2] [--queue 8]
        [--serve-args "--model other.onnx --mirror-average off"]
"""
from __future__ import annotations

import argparse
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import httpx
import numpy as np

REPO = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--queue", type=int, default=8)
    ap.add_argument("--return", dest="kind", default="composite")
    ap.add_argument("--serve-args", default="", help="more options for `humanseg serve`, one string")
    a = ap.parse_args()
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "humanseg", "serve", "--port", str(port), "--workers",
                               str(a.workers), "--queue", str(a.queue), *a.serve_args.split()], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        else:
            raise SystemExit("server did not start")
        image = (REPO / "examples" / "astronaut.jpg").read_bytes()
        latencies: list[float] = []
        codes: Counter = Counter()
        lock = threading.Lock()
        stop = time.perf_counter() + a.seconds

        def client() -> None:
            with httpx.Client(timeout=30) as http:
                while time.perf_counter() < stop:
                    t0 = time.perf_counter()
                    try:
                        r = http.post(url + "/v1/segment", files={"image": ("a.jpg", image, "image/jpeg")},
                                      data={"return": a.kind})
                        code = r.status_code
                    except httpx.HTTPError as exc:
                        code = type(exc).__name__
                    dt = time.perf_counter() - t0
                    with lock:
                        codes[code] += 1
                        if code == 200:
                            latencies.append(dt)

        threads = [threading.Thread(target=client) for _ in range(a.clients)]
        t_start = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall = time.perf_counter() - t_start
        rss = peak_rss_mb(server.pid)
    finally:
        server.terminate()
        server.wait(10)
    ok = codes.get(200, 0)
    busy = codes.get(503, 0)
    errors = sum(v for k, v in codes.items() if k not in (200, 503))
    lat = np.array(latencies) * 1e3
    print("| clients | workers/queue | seconds | OK requests/s | p50 ms | p99 ms | 503 (back-pressure) | other errors | server peak RSS MB |")
    print("|---|---|---|---|---|---|---|---|---|")
    print(f"| {a.clients} | {a.workers}/{a.queue} | {wall:.1f} | {ok / wall:.1f} | {np.percentile(lat, 50):.1f} | "
          f"{np.percentile(lat, 99):.1f} | {busy} | {errors} | {rss:.0f} |")
    print(f"request: POST /v1/segment, 640x360 JPEG (examples/astronaut.jpg), return={a.kind}; "
          f"serve options: {a.serve_args or '(defaults)'}; status counts {dict(codes)}")


if __name__ == "__main__":
    main()
