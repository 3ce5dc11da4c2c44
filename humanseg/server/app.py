"""The HTTP service: POST /v1/segment, GET /v1/models, GET /healthz, OpenAPI docs at /docs.

Inference runs in a bounded pool of worker threads sharing one ONNX Runtime session per model
(its `run` is thread-safe); at most `workers + queue` requests are admitted at once and the rest
get 503 at once. Every request builds its own effect and post-processing, so nothing is carried
from one request to the next.
"""
from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor
from enum import Enum
from pathlib import Path

import cv2
import numpy as np
from fastapi import FastAPI, File, Form, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles

from ..effects import Blur, Color, parse_hex_color
from ..effects.backgrounds import BackgroundEffect, Transparent, cover_fit
from ..errors import HumansegError
from ..io.images import to_bgr8
from ..runtime.postprocess import PostProcess
from ..runtime.segmenter import Segmenter
from ..weights import SHIPPED
from .config import ServerConfig
from .limits import header_size

STATIC_DIR = Path(__file__).resolve().parent / "static"


class ReturnKind(str, Enum):
    composite = "composite"
    cutout = "cutout"
    mask = "mask"


class OutputFormat(str, Enum):
    jpeg = "jpeg"
    png = "png"


class ApiError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = status, message


ERROR_RESPONSES = {s: {"description": d, "content": {"application/json": {"example": {"error": "..."}}}}
                   for s, d in ((400, "not an image, truncated, or bad parameters"), (404, "unknown model"),
                                (413, "upload or image too large"), (503, "server busy, retry later"))}


def create_app(config: ServerConfig | None = None) -> FastAPI:
    cfg = config or ServerConfig()
    app = FastAPI(title="humanseg", version="0.1.0",
                  description="Human segmentation: masks, cut-outs and background effects.")
    pool = ThreadPoolExecutor(max_workers=cfg.workers, thread_name_prefix="humanseg")
    admitted = threading.BoundedSemaphore(cfg.workers + cfg.queue)
    segmenters: dict[str, Segmenter] = {}
    segmenters_lock = threading.Lock()

    def segmenter_for(name: str) -> Segmenter:
        if name not in SHIPPED:
            raise ApiError(404, f"unknown model '{name}'; GET /v1/models lists them")
        with segmenters_lock:
            if name not in segmenters:
                segmenters[name] = Segmenter(name, threads=cfg.threads_per_worker)
            return segmenters[name]

    segmenter_for(cfg.model)  # load the default model at start-up, not on the first request

    @app.exception_handler(ApiError)
    async def api_error(_, exc: ApiError):
        return JSONResponse({"error": exc.message}, status_code=exc.status)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_, exc: RequestValidationError):
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", []) if p != "body")
        return JSONResponse({"error": f"bad parameter {where}: {first.get('msg', 'invalid')}"}, status_code=400)

    @app.get("/healthz")
    def healthz() -> dict:
        return {"status": "ok"}

    @app.get("/v1/models")
    def models() -> dict:
        out = []
        for name, path in SHIPPED.items():
            if path.is_file():
                s = segmenter_for(name).session
                out.append({"name": name, "bytes": path.stat().st_size, "canvas": [s.long_side, s.short_side],
                            "architecture": s.metadata.get("humanseg.architecture", "")})
        return {"models": out, "default": cfg.model}

    async def read_limited(upload: UploadFile, what: str) -> bytes:
        data = await upload.read(cfg.max_upload_bytes + 1)
        if len(data) > cfg.max_upload_bytes:
            raise ApiError(413, f"{what} is larger than {cfg.max_upload_bytes} bytes")
        if not data:
            raise ApiError(400, f"{what} is empty")
        return data

    def decode(data: bytes, what: str) -> np.ndarray:
        size = header_size(data)
        if size and size[0] * size[1] > cfg.max_pixels:
            raise ApiError(413, f"{what} is {size[0]}x{size[1]}, more than {cfg.max_pixels} pixels")
        try:
            image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
        except cv2.error:
            image = None
        if image is None or image.size == 0:
            raise ApiError(400, f"{what} is not a readable image (corrupt, truncated or unsupported format)")
        if image.shape[0] * image.shape[1] > cfg.max_pixels:
            raise ApiError(413, f"{what} has more than {cfg.max_pixels} pixels")
        return to_bgr8(image)

    @app.post("/v1/segment", responses={200: {"content": {"image/png": {}, "image/jpeg": {}},
                                              "description": "the mask, cut-out or composite"}, **ERROR_RESPONSES})
    async def segment(
        image: UploadFile = File(..., description="the photo (JPEG, PNG, WebP, BMP)"),
        return_: ReturnKind = Form(ReturnKind.composite, alias="return",
                                   description="mask (PNG), cutout (RGBA PNG) or composite"),
        bg: str = Form("blur", max_length=32, description="composite background: blur or color:#RRGGBB "
                                                         "(ignored when a background image is uploaded)"),
        background: UploadFile | None = File(None, description="optional background image for the composite"),
        threshold: float | None = Form(None, ge=0.0, le=1.0, description="hard mask at this level"),
        blur_strength: float = Form(3.0, gt=0.0, le=20.0, description="blur sigma in % of the short side"),
        format: OutputFormat = Form(OutputFormat.jpeg, description="composite encoding"),
        model: str = Form("portrait", max_length=64),
    ):
        seg = segmenter_for(model)
        frame = decode(await read_limited(image, "image"), "image")
        effect = await build_effect(return_, bg, background, blur_strength)
        if not admitted.acquire(blocking=False):
            raise ApiError(503, "server busy: all workers and queue slots are taken; retry shortly")
        try:
            loop = asyncio.get_running_loop()
            body, media = await loop.run_in_executor(pool, render, seg, frame, effect, threshold, return_, format)
        finally:
            admitted.release()
        return Response(body, media_type=media)

    async def build_effect(kind: ReturnKind, bg: str, background: UploadFile | None, strength: float):
        if kind == ReturnKind.mask:
            return None
        if kind == ReturnKind.cutout:
            return Transparent()
        if background is not None and background.filename:
            picture = decode(await read_limited(background, "background"), "background")
            return _Still(picture)
        if bg == "blur":
            return Blur(strength)
        if bg.startswith("color:"):
            try:
                return Color(parse_hex_color(bg[len("color:"):]))
            except HumansegError as exc:
                raise ApiError(400, str(exc)) from exc
        raise ApiError(400, f"bg '{bg}' must be blur or color:#RRGGBB (or upload a background image)")

    @app.get("/v1/models/{name}.onnx", responses={404: ERROR_RESPONSES[404]})
    def model_file(name: str):
        """The ONNX file itself, for the browser page (onnxruntime-web)."""
        if name not in SHIPPED or not SHIPPED[name].is_file():
            raise ApiError(404, f"unknown model '{name}'")
        return FileResponse(SHIPPED[name], media_type="application/octet-stream")

    @app.middleware("http")
    async def isolation_headers(request, call_next):
        # cross-origin isolation lets onnxruntime-web use WebAssembly threads (SharedArrayBuffer)
        response = await call_next(request)
        response.headers["Cross-Origin-Opener-Policy"] = "same-origin"
        response.headers["Cross-Origin-Embedder-Policy"] = "require-corp"
        return response

    if (STATIC_DIR / "index.html").is_file():
        app.mount("/", StaticFiles(directory=STATIC_DIR, html=True), name="page")
    app.state.config = cfg
    return app


class _Still(BackgroundEffect):
    """An uploaded background image (already decoded), cover-fitted."""

    def __init__(self, picture: np.ndarray):
        self.picture = picture

    def background(self, frame: np.ndarray, mask: np.ndarray) -> np.ndarray:
        return cover_fit(self.picture, frame.shape[1], frame.shape[0])


def render(seg: Segmenter, frame: np.ndarray, effect, threshold: float | None, kind: ReturnKind,
           fmt: OutputFormat) -> tuple[bytes, str]:
    mask = seg.segment(frame)
    if threshold is not None:
        mask = PostProcess(threshold=threshold)(mask)
    if kind == ReturnKind.mask:
        out, ext = np.clip(mask * 255 + 0.5, 0, 255).astype(np.uint8), ".png"
    elif kind == ReturnKind.cutout:
        out, ext = effect(frame, mask), ".png"
    else:
        out, ext = effect(frame, mask), ".png" if fmt == OutputFormat.png else ".jpg"
    ok, data = cv2.imencode(ext, out)
    if not ok:
        raise ApiError(500, "could not encode the result")
    return data.tobytes(), "image/png" if ext == ".png" else "image/jpeg"

