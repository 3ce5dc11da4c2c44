"""What a batch run has to do: every input under a folder tree (or named in a list file) with its output
path in the mirrored tree and its resume key; inputs that cannot be done (missing, not media, two inputs
for one output) as records of why."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from ..errors import InputError, OutputError
from ..io.animation import kind_of   # "image", "video" or None; a GIF by its frames
from ..io.suffixes import GIF_SUFFIXES, IMAGE_SUFFIXES, VIDEO_SUFFIXES
from .manifest import make_record

TRANSPARENT_VIDEO_SUFFIXES = (".webm", ".mov")   # VP9 alpha, ProRes 4444; other containers become .webm
READ_SUFFIXES = IMAGE_SUFFIXES | VIDEO_SUFFIXES | GIF_SUFFIXES


@dataclass(frozen=True)
class Job:
    """One input and its output. name: the output's path relative to the output folder (posix), what the
    resume journal keys on; key: hash of the input's identity (path, size, mtime) and the settings."""
    input: str
    output: str
    name: str
    kind: str     # "image" | "video"
    key: str


@dataclass
class Plan:
    jobs: list[Job] = field(default_factory=list)
    rejected: list[dict] = field(default_factory=list)   # "failed" records: never started
    ignored: list[dict] = field(default_factory=list)    # "ignored" records: files in the folder batch does not read


def is_media(path: Path) -> bool:
    """Whether batch reads files of this suffix (images, videos, GIFs)."""
    return path.suffix.lower() in READ_SUFFIXES


def check_folders(inp: Path, out: Path) -> None:
    """Refuse a missing input, an output that is a file, or an output that is the input folder."""
    if not inp.exists():
        raise InputError(f"{inp}: no such folder or list file")
    if inp.is_file() and kind_of(inp):
        raise InputError(f"{inp}: is one {kind_of(inp)}; batch takes a folder or a text file listing paths "
                         f"(for one file use `humanseg {kind_of(inp)}`)")
    if out.exists() and not out.is_dir():
        raise OutputError(f"{out}: output must be a folder")
    if inp.is_dir() and inp.resolve() == out.resolve():
        raise OutputError(f"{out}: output folder is the input folder; choose another so the inputs are kept")


def find_inputs(inp: Path, out: Path) -> tuple[Path, list[Path], list[dict]]:
    """(root the output tree mirrors, input paths in order, records of what a folder held but gives no input).
    A folder: every image and video below it, hidden files and folders and the output folder (when it lies
    inside) left out; other files and links to folders (not followed) are "ignored" records, folders that
    cannot be listed "failed" ones. A list file: one path a line (relative to the list file's folder; blank
    lines and lines starting with # ignored), mirrored from the deepest folder that holds them all."""
    if inp.is_dir():
        return (inp, *_walk(inp, out))
    try:
        lines = inp.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{inp}: not a readable text file listing paths ({exc.__class__.__name__})") from exc
    paths = [inp.parent / line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]
    if not paths:
        return inp.parent, [], []
    try:
        root = Path(os.path.commonpath([str(p.parent.resolve()) for p in paths]))
    except ValueError as exc:   # Windows: paths on different drives
        raise InputError(f"{inp}: the listed paths have no common folder to mirror ({exc})") from exc
    return root, [p.parent.resolve() / p.name for p in paths], []


def _walk(inp: Path, out: Path) -> tuple[list[Path], list[dict]]:
    """(the images and videos below the folder `inp`, in order; the records of what else it holds)."""
    skip = out.resolve()
    found, left_out = [], []

    def unlistable(exc: OSError) -> None:
        left_out.append(make_record(str(exc.filename), None, None, "failed",
                                    f"{exc.filename}: cannot list this folder ({exc.strerror or exc}); the files in "
                                    "it were not processed", 0, 0.0))

    for folder, dirs, files in os.walk(inp, onerror=unlistable):
        here = Path(folder)
        kept = []
        for d in sorted(d for d in dirs if not d.startswith(".") and (here / d).resolve() != skip):
            if (here / d).is_symlink():
                left_out.append(make_record(str(here / d), None, None, "ignored",
                                            f"{here / d}: a link to a folder, not followed; give its target as the "
                                            "input of another batch, or list its files in a list file", 0, 0.0))
            else:
                kept.append(d)
        dirs[:] = kept
        for f in sorted(f for f in files if not f.startswith(".")):
            if is_media(Path(f)):
                found.append(here / f)
            else:
                left_out.append(make_record(str(here / f), None, None, "ignored",
                                            f"{here / f}: not an image or video (by its suffix); left out", 0, 0.0))
    return found, left_out


def output_name(rel: PurePosixPath, kind: str, cut_out: bool, transparent: bool) -> PurePosixPath:
    """Output path (relative) for an input path relative to the mirrored root: the same name, with .png for
    cut-out images (transparent, mask) and one-frame GIFs, .webm for transparent videos other than .webm and
    .mov, and .mp4 for (opaque) animated GIFs."""
    suffix = rel.suffix
    if kind == "image" and (cut_out or suffix.lower() not in IMAGE_SUFFIXES):   # a GIF: not a type we write
        suffix = ".png"
    elif kind == "video" and transparent and suffix.lower() not in TRANSPARENT_VIDEO_SUFFIXES:
        suffix = ".webm"
    elif kind == "video" and suffix.lower() not in VIDEO_SUFFIXES:   # an animated GIF
        suffix = ".mp4"
    return rel.with_suffix(suffix)


def plan_jobs(inp: Path, out: Path, settings) -> Plan:
    """Jobs for every usable input in order; the others (missing or unreadable, a folder, not an image or
    video, a second input for an output already taken, an output that is an input) as failed records, and
    the files a folder holds that are not images or videos as ignored records. settings: a BatchSettings."""
    check_folders(inp, out)
    root, paths, left_out = find_inputs(inp, out)
    described = {kind: settings.describe(kind) for kind in ("image", "video")}   # raises for bad settings
    plan = Plan()
    for record in left_out:
        (plan.ignored if record["status"] == "ignored" else plan.rejected).append(record)
    inputs = {os.path.realpath(p): p for p in paths}
    taken: dict[str, Path] = {}
    for path in paths:
        try:
            planned = _plan_one(path, root, out, settings, described, taken, inputs)
        except OSError as exc:   # a name too long for the filesystem, a folder on the way that cannot be searched
            planned = make_record(str(path), None, None, "failed", f"{path}: cannot read ({exc.strerror or exc})",
                                  0, 0.0)
        if isinstance(planned, Job):
            taken[planned.name] = path
            plan.jobs.append(planned)
        else:
            plan.rejected.append(planned)
    return plan


def _plan_one(path: Path, root: Path, out: Path, settings, described: dict, taken: dict[str, Path],
              inputs: dict[str, Path]) -> Job | dict:
    """The job for one input, or the failed record saying why it has none. taken: {output name: input} of the
    jobs so far; inputs: {real path: path} of every input of the run."""
    from ..api import _resume_key

    kind = kind_of(path)

    def failed(reason: str, target: Path | None = None) -> dict:
        return make_record(str(path), None if target is None else str(target), kind, "failed", reason, 0, 0.0)

    if not path.exists():
        return failed(f"{path}: no such file")
    if path.is_dir():
        return failed(f"{path}: is a folder, expected an image or video file")
    if kind is None:
        return failed(f"{path}: not an image or video file (by its suffix)")
    rel = PurePosixPath(path.relative_to(root).as_posix())
    name = output_name(rel, kind, settings.cut_out(), settings.transparent()).as_posix()
    target = out / name
    if name in taken:
        first = taken[name]
        why = "is listed more than once" if first == path else f"would write the same {name} as {first}"
        return failed(f"{path}: not processed, it {why}; rename one of them", target)
    other = inputs.get(os.path.join(os.path.realpath(target.parent), target.name))
    if other is not None:   # replacing it would lose an input (and change what another job reads)
        what = "the input itself" if other == path else f"{other}, another input of this run"
        return failed(f"{path}: not processed, its output {target} is {what}; choose an output folder apart "
                      "from the inputs", target)
    return Job(str(path), str(target), name, kind, _resume_key(path, described[kind]))
