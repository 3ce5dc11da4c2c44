"""The HTTP service: POST /v1/segment, GET /v1/models, GET /healthz, OpenAPI docs at /docs.

Inference runs in a bounded pool of worker threads sharing one ONNX Runtime session per model
(its `run` is thread-safe); at most `workers + queue` requests are admitted at once and the rest
get 503 at once. On the event loop an upload is only read and its header checked (size in pixels,
before any pixel is decoded); decoding happens in the worker pool, after admission. Every request
builds its own effect and post-processing, so nothing is carried from one request to the next.
"""
from __future__ import annotations

import asyncio
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

import cv2
import numpy as np
from fastapi import FastAPI, File, Form, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Route

from ..effects import Blur, Color, parse_hex_color
from ..effects.backgrounds import MAX_BLUR_STRENGTH, BackgroundEffect, StillBackground, Transparent
from ..effects.finishing import LIGHT_WRAP_WIDTH, MAX_LIGHT_WRAP_WIDTH, with_finishing
from ..errors import HumansegError, ModelError
from ..io.image_bytes import ImageHeader, decode_upright, read_header
from ..io.images import alpha_of, to_bgr8
from ..matting.foreground import ML_INSTALL
from ..runtime.letterbox import ADAPTIVE_MAX_STRETCH
from ..runtime.postprocess import MAX_FEATHER, MAX_GATE_PX, PostProcess
from ..runtime.segmenter import Segmenter
from ..weights import SHIPPED
from .body_limit import BodyLimit
from .config import ServerConfig

STATIC_DIR = Path(__file__).resolve().parent / "static"
# copied from web/node_modules by web/build.mjs (keep the two lists in step)
VENDOR_ASSETS = ("ort.all.min.mjs", "ort-wasm-simd-threaded.jsep.mjs", "ort-wasm-simd-threaded.jsep.wasm",
                 "swagger-ui-bundle.js", "swagger-ui.css")
BUILD_ASSETS = "npm ci --prefix web --no-audit --no-fund && node web/build.mjs"


class ReturnKind(str, Enum):
    composite = "composite"
    cutout = "cutout"
    mask = "mask"


class OutputFormat(str, Enum):
    jpeg = "jpeg"
    png = "png"


class ForegroundMethod(str, Enum):
    fast = "fast"
    ml = "ml"
    none = "none"


class ApiError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = status, message


ERROR_RESPONSES = {s: {"description": d, "content": {"application/json": {"example": {"error": "..."}}}}
                   for s, d in ((400, "not an image, truncated, or bad parameters"), (404, "unknown model"),
                                (413, "upload or image too large"), (503, "server busy, retry later"))}


def missing_vendor_assets(static_dir: Path | None = None) -> list[str]:
    """Names of the page's and docs' vendored files that are not built (see BUILD_ASSETS)."""
    vendor = (static_dir or STATIC_DIR) / "vendor"
    return [name for name in VENDOR_ASSETS if not (vendor / name).is_file()]


@dataclass
class Upload:
    """An uploaded image whose header passed the checks; its pixels are decoded in a worker."""

    data: bytes
    header: ImageHeader
    what: str


@dataclass
class Job:
    """Everything a worker needs for one request."""

    image: Upload
    kind: ReturnKind
    fmt: OutputFormat
    post: PostProcess
    effect: BackgroundEffect | None = None   # None: the mask, or a composite over `background`
    background: Upload | None = None
    max_pixels: int = 0
    canvas_pixels: int | None = None          # None: the segmenter's own (the server's still-image budget)
    finishing: dict | None = None             # with_finishing's keyword arguments (composite and cutout)


def create_app(config: ServerConfig | None = None) -> FastAPI:
    cfg = config or ServerConfig()
    pool = ThreadPoolExecutor(max_workers=cfg.workers, thread_name_prefix="humanseg")

    @asynccontextmanager
    async def lifespan(_app):
        missing = missing_vendor_assets()
        if missing:
            print(f"humanseg: warning: page and /docs assets are not built ({', '.join(missing)} missing "
                  f"from {STATIC_DIR / 'vendor'}); build them in a humanseg clone with `{BUILD_ASSETS}` (then, unless "
                  "it is installed with pip install -e, reinstall from the clone)", file=sys.stderr, flush=True)
        lost = [f"{name} ({path})" for name, path in model_files.items() if not path.is_file()]
        if lost:
            print(f"humanseg: warning: model file(s) missing: {', '.join(lost)}; requests for them get 500 "
                  "(reinstall humanseg)", file=sys.stderr, flush=True)
        yield
        pool.shutdown(wait=False, cancel_futures=True)

    app = FastAPI(title="humanseg", version="0.1.0", lifespan=lifespan, docs_url=None, redoc_url=None,
                  description="Human segmentation: masks, cut-outs and background effects.")
    admitted = threading.BoundedSemaphore(cfg.workers + cfg.queue)
    model_files, default_model = served_models(cfg.model)
    segmenters: dict[str, Segmenter] = {}
    segmenters_lock = threading.Lock()

    def load(name: str) -> Segmenter:
        """The segmenter of a served model, made on first use; ModelError when its file cannot be loaded."""
        with segmenters_lock:
            if name not in segmenters:
                path = model_files[name]   # a shipped model by its name, so that a lost file is said to be one
                segmenters[name] = Segmenter(name if path == SHIPPED.get(name) else path,
                                             threads=cfg.threads_per_worker, canvas_pixels=cfg.canvas_pixels or "still",
                                             mirror_average=cfg.mirror_average is not False,
                                             photo_recipe=cfg.photo_recipe)
            return segmenters[name]

    def segmenter_for(name: str) -> Segmenter:
        if name not in model_files:
            raise ApiError(404, f"unknown model '{name}'; GET /v1/models lists them")
        try:
            return load(name)
        except ModelError as exc:   # a shipped file lost from the installation, a foreign file: the server's fault
            raise ApiError(500, str(exc)) from exc

    load(default_model)  # load the default model at start-up, not on the first request (ModelError: not started)

    @app.exception_handler(ApiError)
    async def api_error(_, exc: ApiError):
        return JSONResponse({"error": exc.message}, status_code=exc.status)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_, exc: RequestValidationError):
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", []) if p != "body")
        return JSONResponse({"error": f"bad parameter {where}: {first.get('msg', 'invalid')}"}, status_code=400)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        # the page is mounted at "/", so it answers every path no route takes in full: a known path
        # asked with another method arrives here as the page's 404, and is a 405
        status, headers, message = exc.status_code, dict(exc.headers or {}), str(exc.detail)
        allowed = allowed_methods(request.url.path) if status in (404, 405) else set()
        if allowed and request.method not in allowed:
            status, headers["Allow"] = 405, ", ".join(sorted(allowed))
            message = f"{request.method} is not allowed on {request.url.path}; use {' or '.join(sorted(allowed))}"
        elif status == 404:
            message = f"nothing at {request.url.path}"
        return JSONResponse({"error": message}, status_code=status, headers=headers)

    def allowed_methods(path: str) -> set[str]:
        return {m for r in app.routes if isinstance(r, Route) and r.methods and r.path_regex.match(path)
                for m in r.methods}

    @app.get("/healthz")
    def healthz() -> dict:
        return {"status": "ok"}

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        """Swagger UI from our own vendored copy (web/build.mjs), so the docs work offline."""
        return get_swagger_ui_html(openapi_url=app.openapi_url, title="humanseg API",
                                   swagger_js_url="/vendor/swagger-ui-bundle.js",
                                   swagger_css_url="/vendor/swagger-ui.css", swagger_favicon_url="data:,")

    @app.get("/v1/models")
    def models() -> dict:
        """The models, with what a client needs to run one itself (the browser page does): `canvas` is the
        fixed [long, short] canvas of a legacy model (`canvas_pixels` null) or the training canvas of an
        adaptive one, whose frames get runtime/canvas.py's canvas at `canvas_pixels` (sides a multiple of
        `stride`; stretched to fill it when the aspect is within `max_stretch`); `input_channels` 4: the
        previous frame's person probability is the 4th input channel (zeros for a single image);
        `still_canvas_pixels`: the budget /v1/segment uses by default; `still_canvas_budgets`: all it
        averages over (one, or several for a model that stores several still scales); `still_prior_weight`: when
        not 0, /v1/segment runs each budget twice, the second time with this weight times the first map as the
        previous mask; `still_refine`: when not 0, /v1/segment refines the map with a colour-guided filter of this
        radius (a fraction of the photo's long side) unless the request gives its own `refine`; `still_zoom`: when
        not 0, a photo whose people fill less than this share of it is segmented again close up. `unavailable`: served
        models that cannot run (their file is missing), each with the reason."""
        out, unavailable = [], []
        for name, path in model_files.items():
            if not path.is_file():
                unavailable.append({"name": name, "error": f"model file missing: {path} (reinstall humanseg)"})
            else:
                seg = segmenter_for(name)
                s = seg.session
                out.append({"name": name, "bytes": path.stat().st_size, "url": f"/v1/models/{name}.onnx",
                            "architecture": s.metadata.get("humanseg.architecture", ""),
                            "canvas": [s.long_side, s.short_side], "canvas_pixels": s.canvas_pixels,
                            "stride": s.stride, "max_stretch": ADAPTIVE_MAX_STRETCH if s.adaptive else 0.0,
                            "input_channels": s.input_channels, "still_canvas_pixels": seg.budget(),
                            "still_canvas_budgets": seg.budgets(), "still_prior_weight": seg.prior_weight(),
                            "still_refine": seg.refine_fraction(), "still_zoom": seg.zoom_share()})
        return {"models": out, "default": default_model, "unavailable": unavailable}

    async def read_upload(upload: UploadFile, what: str) -> Upload:
        """Read the bytes (within the byte limit) and check the header (within the pixel limit); no decoding."""
        data = await upload.read(cfg.max_upload_bytes + 1)
        if len(data) > cfg.max_upload_bytes:
            raise ApiError(413, f"{what} is larger than {cfg.max_upload_bytes} bytes")
        if not data:
            raise ApiError(400, f"{what} is empty")
        header = read_header(data)
        if header is None:
            raise ApiError(400, f"{what} is not a readable image (corrupt, truncated or unsupported format)")
        if header.pixels > cfg.max_pixels:
            raise ApiError(413, f"{what} is {header.describe()}, more than {cfg.max_pixels} pixels")
        return Upload(data, header, what)

    @app.post("/v1/segment", responses={200: {"content": {"image/png": {}, "image/jpeg": {}},
                                              "description": "the mask, cut-out or composite"}, **ERROR_RESPONSES})
    async def segment(
        request: Request,
        image: UploadFile = File(..., description="the photo (JPEG, PNG, WebP, BMP, TIFF); EXIF orientation "
                                                  "is applied, so the result is upright"),
        return_: ReturnKind = Form(ReturnKind.composite, alias="return",
                                   description="mask (PNG), cutout (RGBA PNG) or composite"),
        bg: str = Form("blur", max_length=32, description="composite background: blur or color:#RRGGBB "
                                                         "(ignored when a background image is uploaded)"),
        background: UploadFile | None = File(None, description="optional background image for the composite"),
        threshold: float | None = Form(None, ge=0.0, le=1.0, description="hard mask at this level"),
        gate_erode: int | None = Form(None, ge=0, le=MAX_GATE_PX, description="morphological gate: erode radius in px "
                                                                      "(with gate_dilate; as the CLI's --gate)"),
        gate_dilate: int | None = Form(None, ge=0, le=MAX_GATE_PX, description="morphological gate: dilate radius in px"),
        keep_largest: bool = Form(False, description="keep only the largest person region"),
        refine: int = Form(0, ge=0, le=32, description="guided-filter edge refinement radius in px (0: off)"),
        feather: float = Form(0.0, ge=0.0, le=MAX_FEATHER, description="Gaussian edge feathering sigma in px (0: off)"),
        blur_strength: float = Form(3.0, ge=0.0, le=MAX_BLUR_STRENGTH, description="blur sigma in % of the short side, 0 (none) to the maximum"),
        format: OutputFormat = Form(OutputFormat.jpeg, description="composite encoding"),
        model: str | None = Form(None, max_length=64, description="a name from GET /v1/models (default: the "
                                                                   "server's default model)"),
        canvas_pixels: int | None = Form(None, ge=1, description="pixels of the model canvas for adaptive models "
                                                                 "(default: the server's still-image budget, "
                                                                 "GET /v1/models still_canvas_pixels; at most the "
                                                                 "server's max_canvas_pixels); fixed-canvas "
                                                                 "models ignore it"),
        foreground: ForegroundMethod = Form(ForegroundMethod.none, description="estimate the person's own colour "
                                            "at soft edges (composite and cutout): fast, ml (slower, needs "
                                            "pymatting on the server) or none; as the CLI's --foreground"),
        harmonize: float = Form(0.0, ge=0.0, le=1.0, description="composite: match the person's colours to the "
                                                                 "background, 0 (off) to 1"),
        poisson: bool = Form(False, description="composite: Poisson-blend the person into the background"),
        light_wrap: float = Form(0.0, ge=0.0, le=1.0, description="composite: the background's light spilling "
                                                                  "over the person's edge, 0 (off) to 1"),
        light_wrap_width: float = Form(LIGHT_WRAP_WIDTH, gt=0.0, le=MAX_LIGHT_WRAP_WIDTH,
                                       description="how far the light wraps in, in % of the short side"),
    ):
        check_form_parts(await request.form())
        seg = segmenter_for(model or default_model)
        if canvas_pixels is not None and canvas_pixels > cfg.max_canvas_pixels:
            raise ApiError(400, f"canvas_pixels {canvas_pixels} is more than this server's {cfg.max_canvas_pixels}")
        gate = None if gate_erode is None and gate_dilate is None else (gate_erode or 0, gate_dilate or 0)
        job = Job(await read_upload(image, "image"), return_, format, max_pixels=cfg.max_pixels,
                  post=PostProcess(threshold=threshold, gate=gate, keep_largest=keep_largest, refine=refine,
                                   feather=feather), canvas_pixels=canvas_pixels)
        if foreground == ForegroundMethod.ml and return_ != ReturnKind.mask and not has_pymatting():
            raise ApiError(400, f"foreground=ml needs pymatting on this server ({ML_INSTALL}); use fast")
        if return_ == ReturnKind.cutout:
            job.effect = Transparent()
            job.finishing = {"foreground": foreground.value}
        elif return_ == ReturnKind.composite:
            if background is not None and background.filename:
                job.background = await read_upload(background, "background")
            else:
                job.effect = effect_from_bg(bg, blur_strength)
            job.finishing = {"foreground": foreground.value, "harmonize": harmonize, "poisson": poisson,
                             "light_wrap": light_wrap, "light_wrap_width": light_wrap_width}
        if not admitted.acquire(blocking=False):
            raise ApiError(503, "server busy: all workers and queue slots are taken; retry shortly")
        try:
            loop = asyncio.get_running_loop()
            body, media = await loop.run_in_executor(pool, render, seg, job)
        finally:
            admitted.release()
        return Response(body, media_type=media)

    @app.get("/v1/models/{name}.onnx", responses={404: ERROR_RESPONSES[404]})
    def model_file(name: str):
        """The ONNX file itself, for the browser page (onnxruntime-web)."""
        if name not in model_files or not model_files[name].is_file():
            raise ApiError(404, f"unknown model '{name}'")
        return FileResponse(model_files[name], media_type="application/octet-stream")

    # added before isolation_headers, so it runs inside it: its 413 gets those headers, and the request body
    # reaches the endpoint through it directly (BaseHTTPMiddleware would wrap its error in an ExceptionGroup)
    app.add_middleware(BodyLimit, max_bytes=request_bytes_limit(cfg),
                       why=f"an image and a background of at most {cfg.max_upload_bytes} bytes each")

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


SEGMENT_FIELDS = ("image", "return", "bg", "background", "threshold", "gate_erode", "gate_dilate", "keep_largest",
                  "refine", "feather", "blur_strength", "format", "model", "canvas_pixels", "foreground", "harmonize",
                  "poisson", "light_wrap", "light_wrap_width")


def check_form_parts(form) -> None:
    """400 for a part /v1/segment does not take (a misspelt option would otherwise be ignored without a word)
    or a part sent twice (only one of the two would be used)."""
    names = [name for name, _ in form.multi_items()]
    unknown = sorted({n for n in names if n not in SEGMENT_FIELDS})
    if unknown:
        raise ApiError(400, f"unknown form field(s) {', '.join(repr(n) for n in unknown)}; "
                            f"/v1/segment takes {', '.join(SEGMENT_FIELDS)}")
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise ApiError(400, f"form field(s) {', '.join(repr(n) for n in twice)} sent more than once; send each once")


def request_bytes_limit(cfg: ServerConfig) -> int:
    """The most a /v1/segment request body may hold: an image and a background of max_upload_bytes each,
    plus the form fields and the multipart headers (64 KiB)."""
    return 2 * cfg.max_upload_bytes + 64 * 1024


def served_models(model: str) -> tuple[dict[str, Path], str]:
    """({name: ONNX file}, default name): the shipped models, plus `model` when it is an .onnx file
    (served under its file name's stem, in place of a shipped model of that name)."""
    files = dict(SHIPPED)
    if model in SHIPPED:
        return files, model
    path = Path(model)
    if path.suffix.lower() != ".onnx" or not path.is_file():
        raise ModelError(f"unknown model '{model}': not one of {sorted(SHIPPED)} and not an existing .onnx file")
    files[path.stem] = path.resolve()
    return files, path.stem


def has_pymatting() -> bool:
    import importlib.util

    return importlib.util.find_spec("pymatting") is not None


def effect_from_bg(bg: str, strength: float) -> BackgroundEffect:
    if bg == "blur":
        return Blur(strength)
    if bg.startswith("color:"):
        try:
            return Color(parse_hex_color(bg[len("color:"):]))
        except HumansegError as exc:
            raise ApiError(400, str(exc)) from exc
    raise ApiError(400, f"bg '{bg}' must be blur or color:#RRGGBB (or upload a background image)")


def decode(upload: Upload, max_pixels: int) -> np.ndarray:
    """Upright uint8 HxWx3 BGR pixels of an upload (runs in a worker; the header was checked already)."""
    return to_bgr8(decode_any(upload, max_pixels))


def decode_any(upload: Upload, max_pixels: int) -> np.ndarray:
    """Upright decoded pixels of an upload, any depth and channels (alpha kept)."""
    image = decode_upright(upload.data, upload.header.orientation)
    if image is None:
        raise ApiError(400, f"{upload.what} is not a readable image (corrupt, truncated or unsupported format)")
    if image.shape[0] * image.shape[1] > max_pixels:  # a header that lied about its size
        raise ApiError(413, f"{upload.what} has more than {max_pixels} pixels")
    return image


def render(seg: Segmenter, job: Job) -> tuple[bytes, str]:
    """Decode, segment, post-process and encode one request (in a worker thread)."""
    frame = decode(job.image, job.max_pixels)
    effect = job.effect
    if job.background is not None:
        picture = decode_any(job.background, job.max_pixels)   # transparent parts show the photo (StillBackground)
        effect = StillBackground(to_bgr8(picture), alpha_of(picture))
    if job.finishing:
        effect = with_finishing(effect, **job.finishing)
    try:
        mask = seg.segment(frame, canvas_pixels=job.canvas_pixels, still_refine=False if job.post.refine else None)
    except ModelError as exc:   # the served model cannot run (a foreign file): the server's fault, said in one line
        raise ApiError(500, str(exc)) from exc
    if job.post.active:
        mask = job.post(mask, frame)
    if job.kind == ReturnKind.mask:
        out, ext = np.clip(mask * 255 + 0.5, 0, 255).astype(np.uint8), ".png"
    elif job.kind == ReturnKind.cutout:
        out, ext = effect(frame, mask), ".png"
    else:
        out, ext = effect(frame, mask), ".png" if job.fmt == OutputFormat.png else ".jpg"
    ok, data = cv2.imencode(ext, out)
    if not ok:
        raise ApiError(500, "could not encode the result")
    return data.tobytes(), "image/png" if ext == ".png" else "image/jpeg"
