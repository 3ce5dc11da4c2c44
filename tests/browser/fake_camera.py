"""Helpers to run the page in headless Chromium with a fake camera (.y4m clip)."""
from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[2]
WEB = REPO / "web"
VENDOR = REPO / "humanseg" / "server" / "static" / "vendor"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")


def write_y4m(frames: list[np.ndarray], path: Path, fps: int = 30) -> Path:
    """BGR uint8 frames (even width and height) -> a 4:2:0 YUV4MPEG2 file Chromium can play as a camera."""
    h, w = frames[0].shape[:2]
    with open(path, "wb") as f:
        f.write(f"YUV4MPEG2 W{w} H{h} F{fps}:1 Ip A1:1 C420jpeg\n".encode())
        for frame in frames:
            f.write(b"FRAME\n")
            f.write(cv2.cvtColor(frame, cv2.COLOR_BGR2YUV_I420).tobytes())
    return path


def missing_browser_tools() -> str | None:
    """Why the browser test cannot run here, or None when it can."""
    if not Path(CHROMIUM).exists():
        return f"{CHROMIUM} not found (apt-get install chromium)"
    if shutil.which("node") is None:
        return "node not found"
    if not (WEB / "node_modules" / "playwright-core").is_dir():
        return "web/node_modules missing (npm ci --prefix web)"
    if not (VENDOR / "ort.all.min.mjs").is_file():
        return "page assets missing (node web/build.mjs)"
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """`humanseg serve` in its own process on a free loopback port; model: its default (a shipped name or
    an .onnx path; None: the shipped default)."""

    def __init__(self, model: str | None = None):
        self.model = model

    def __enter__(self):
        import httpx

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        extra = ["--model", str(self.model)] if self.model else []
        self.proc = subprocess.Popen([sys.executable, "-m", "humanseg", "serve", "--port", str(self.port), *extra],
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        for _ in range(300):
            try:
                if httpx.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                time.sleep(0.1)
        self.proc.kill()
        raise RuntimeError("humanseg serve did not start")

    def __exit__(self, *exc):
        self.proc.terminate()
        self.proc.wait(10)


def run_page(url: str, clip: Path, out_dir: Path, seconds: float = 6, probe: str = "") -> dict:
    """Run web/e2e.mjs and return its result.json."""
    cmd = ["node", str(WEB / "e2e.mjs"), url, str(clip), str(out_dir), str(seconds)] + ([probe] if probe else [])
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    if r.returncode != 0:
        raise RuntimeError(f"e2e.mjs failed: {r.stderr[-2000:]}")
    return json.loads((out_dir / "result.json").read_text())


def run_page_checks(url: str, clip: Path, out_dir: Path, mask: dict) -> dict:
    """Run web/page_checks.mjs (controls, failures, mask upsampling, blur) and return its checks.json."""
    mask_path = out_dir / "mask.json"
    mask_path.write_text(json.dumps(mask))
    cmd = ["node", str(WEB / "page_checks.mjs"), url, str(clip), str(out_dir), str(mask_path)]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=400)
    if r.returncode != 0:
        raise RuntimeError(f"page_checks.mjs failed: {r.stderr[-2000:]}")
    return json.loads((out_dir / "checks.json").read_text())
