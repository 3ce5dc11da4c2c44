"""Parameters, FLOPs (torch's FLOP counter, multiply-add = 2) and ONNX Runtime latency of every
registered architecture at 256x144 (4-channel models get the prior channel too), next to
MediaPipe's landscape model, interleaved round by round.

    python benchmarks/model_sizes.py [--threads 2] [--rounds 200]
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort

sys.path.insert(0, str(Path(__file__).resolve().parent))
from peer_models import PEERS, PEERS_DIR  # noqa: E402

from humanseg.runtime.session import SESSION_CONFIG  # noqa: E402
from humanseg.training.export import export_onnx  # noqa: E402
from humanseg.training.models import MODELS, count_flops, count_parameters, create_model, input_channels  # noqa: E402


def session(path: Path, threads: int) -> ort.InferenceSession:
    o = ort.SessionOptions()
    o.intra_op_num_threads, o.inter_op_num_threads = threads, 1
    for key, value in SESSION_CONFIG.items():  # the runtime's own session settings, for ours and the peer
        o.add_session_config_entry(key, value)
    return ort.InferenceSession(str(path), o, providers=["CPUExecutionProvider"])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=200)
    a = ap.parse_args()
    runs, info = {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in sorted(MODELS):
            model = create_model(name).eval()
            path = Path(tmp) / f"{name}.onnx"
            export_onnx(model, path, (256, 144), {"architecture": name})
            info[name] = (count_parameters(model), count_flops(model, 144, 256), count_flops(model, 192, 192))
            feed = {"image": np.zeros((1, input_channels(model), 144, 256), np.float32)}
            runs[name] = (session(path, a.threads), feed)
        mp = PEERS_DIR / PEERS["mediapipe-landscape"].file
        if mp.is_file():
            s = session(mp, a.threads)
            runs["mediapipe-landscape (peer)"] = (s, {s.get_inputs()[0].name: np.zeros((1, 144, 256, 3), np.float32)})
        times = {k: [] for k in runs}
        for i in range(a.rounds + 10):
            for name, (s, feed) in runs.items():
                t0 = time.perf_counter()
                s.run(None, feed)
                if i >= 10:
                    times[name].append(time.perf_counter() - t0)
    ref = "mediapipe-landscape (peer)"
    print("| model | parameters | GFLOPs 256x144 | GFLOPs 192x192 | ORT ms at 256x144 | vs MediaPipe landscape |")
    print("|---|---|---|---|---|---|")
    for name in runs:
        ms = float(np.median(times[name])) * 1e3
        ratio = ms / (float(np.median(times[ref])) * 1e3) if ref in times else float("nan")
        p, f1, f2 = info.get(name, (None, None, None))
        cells = [f"{p / 1e6:.3f} M", f"{f1 / 1e9:.3f}", f"{f2 / 1e9:.3f}"] if p else ["-", "-", "-"]
        print(f"| {name} | " + " | ".join(cells) + f" | {ms:.2f} | {ratio:.2f}x |")


if __name__ == "__main__":
    main()
