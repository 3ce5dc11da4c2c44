"""Adapters for the peer models in ../shared/peers (benchmarks only; never shipped or tested).

Each peer runs with its own documented pre-processing (plain stretch to its input size, its own
colour order and normalisation) and the same resize-back code as ours, and exposes
`segment(frame_bgr) -> float32 HxW person probability`.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import cv2
import numpy as np

PEERS_DIR = Path(os.environ.get("HUMANSEG_PEERS", Path(__file__).resolve().parents[2] / "shared" / "peers"))

SINET_MEAN = np.array([102.890434, 111.25247, 126.91212], np.float32)
SINET_STD = np.array([62.93292, 62.82138, 66.355705], np.float32)


@dataclass
class PeerSpec:
    file: str
    size: tuple[int, int]                     # W, H
    prepare: Callable[[np.ndarray], np.ndarray]  # resized BGR uint8 -> model input
    parse: Callable[[np.ndarray], np.ndarray]    # model output -> HxW probability


def _mediapipe(x):
    return (cv2.cvtColor(x, cv2.COLOR_BGR2RGB).astype(np.float32) / 255.0)[None]


def _ppseg(x):
    rgb = cv2.cvtColor(x, cv2.COLOR_BGR2RGB).astype(np.float32)
    return ((rgb / 255.0 - 0.5) / 0.5).transpose(2, 0, 1)[None]


def _sinet(x):
    return (((x.astype(np.float32) - SINET_MEAN) / SINET_STD) / 255.0).transpose(2, 0, 1)[None]


PEERS = {
    "mediapipe-landscape": PeerSpec("selfie_segmentation_landscape.onnx", (256, 144), _mediapipe, lambda y: y[0, :, :, 0]),
    "mediapipe-general": PeerSpec("selfie_segmentation.onnx", (256, 256), _mediapipe, lambda y: y[0, :, :, 0]),
    "pphumanseg-v1-lite": PeerSpec("ppseg_lite_portrait_398x224_with_softmax.onnx", (398, 224), _ppseg, lambda y: y[0, 1]),
    "sinet": PeerSpec("sinet_softmax.onnx", (320, 320), _sinet, lambda y: y[0, 1]),
}


class PeerModel:
    """A peer on ONNX Runtime with the same session settings as humanseg's ModelSession (threads, no
    spinning: runtime/session.py SESSION_CONFIG), so a comparison measures models and pre/post-processing,
    not runtime settings."""

    def __init__(self, name: str, threads: int = 2):
        import onnxruntime as ort

        from humanseg.runtime.session import SESSION_CONFIG

        self.name = name
        self.spec = PEERS[name]
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        for key, value in SESSION_CONFIG.items():
            options.add_session_config_entry(key, value)
        self.session = ort.InferenceSession(str(PEERS_DIR / self.spec.file), options, providers=["CPUExecutionProvider"])
        self.input_name = self.session.get_inputs()[0].name

    def segment(self, frame_bgr: np.ndarray) -> np.ndarray:
        h, w = frame_bgr.shape[:2]
        small = cv2.resize(frame_bgr, self.spec.size, interpolation=cv2.INTER_AREA)
        prob = self.spec.parse(self.session.run(None, {self.input_name: self.spec.prepare(small)})[0])
        return cv2.resize(np.ascontiguousarray(prob, dtype=np.float32), (w, h), interpolation=cv2.INTER_LINEAR)


def available_peers() -> list[str]:
    """Peers whose file exists; prints a line for each missing one."""
    found = []
    for name, spec in PEERS.items():
        if (PEERS_DIR / spec.file).is_file():
            found.append(name)
        else:
            print(f"peer {name} skipped: {PEERS_DIR / spec.file} not found")
    return found
