"""What a batch run has to do: every input under a folder tree (or named in a list file) with its output
path in the mirrored tree and its resume key; inputs that cannot be done (missing, not media, two inputs
for one output) as records of why."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from ..errors import InputError, OutputError
from ..io.suffixes import IMAGE_SUFFIXES, VIDEO_SUFFIXES
from .manifest import make_record

TRANSPARENT_VIDEO_SUFFIXES = (".webm", ".mov")   # VP9 alpha, ProRes 4444; other containers become .webm


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


def kind_of(path: Path) -> str | None:
    suffix = path.suffix.lower()
    return "image" if suffix in IMAGE_SUFFIXES else "video" if suffix in VIDEO_SUFFIXES else None


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


def find_inputs(inp: Path, out: Path) -> tuple[Path, list[Path]]:
    """(root the output tree mirrors, input paths in order). A folder: every image and video below it,
    hidden files and folders and the output folder (when it lies inside) left out. A list file: one path a
    line (relative to the list file's folder; blank lines and lines starting with # ignored), mirrored
    from the deepest folder that holds them all."""
    if inp.is_dir():
        skip = out.resolve()
        found = []
        for folder, dirs, files in os.walk(inp):
            here = Path(folder)
            dirs[:] = sorted(d for d in dirs if not d.startswith(".") and (here / d).resolve() != skip)
            found += [here / f for f in sorted(files) if not f.startswith(".") and kind_of(Path(f))]
        return inp, found
    try:
        lines = inp.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{inp}: not a readable text file listing paths ({exc.__class__.__name__})") from exc
    paths = [inp.parent / line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]
    if not paths:
        return inp.parent, []
    try:
        root = Path(os.path.commonpath([str(p.parent.resolve()) for p in paths]))
    except ValueError as exc:   # Windows: paths on different drives
        raise InputError(f"{inp}: the listed paths have no common folder to mirror ({exc})") from exc
    return root, [p.parent.resolve() / p.name for p in paths]


def output_name(rel: PurePosixPath, kind: str, cut_out: bool, transparent: bool) -> PurePosixPath:
    """Output path (relative) for an input path relative to the mirrored root: the same name, with .png for
    cut-out images (transparent, mask), and .webm for transparent videos other than .webm and .mov."""
    suffix = rel.suffix
    if kind == "image" and cut_out:
        suffix = ".png"
    elif kind == "video" and transparent and suffix.lower() not in TRANSPARENT_VIDEO_SUFFIXES:
        suffix = ".webm"
    return rel.with_suffix(suffix)


def plan_jobs(inp: Path, out: Path, settings) -> Plan:
    """Jobs for every usable input in order; the others (missing, a folder, not an image or video, or a
    second input for an output already taken) as failed records. settings: a BatchSettings."""
    from ..api import _resume_key

    check_folders(inp, out)
    root, paths = find_inputs(inp, out)
    described = {kind: settings.describe(kind) for kind in ("image", "video")}   # raises for bad settings
    plan = Plan()
    taken: dict[str, Path] = {}
    for path in paths:
        kind = kind_of(path)
        reason = None
        if not path.exists():
            reason = f"{path}: no such file"
        elif path.is_dir():
            reason = f"{path}: is a folder, expected an image or video file"
        elif kind is None:
            reason = f"{path}: not an image or video file (by its suffix)"
        if reason:
            plan.rejected.append(make_record(str(path), None, kind, "failed", reason, 0, 0.0))
            continue
        rel = PurePosixPath(path.relative_to(root).as_posix())
        name = output_name(rel, kind, settings.cut_out(), settings.transparent()).as_posix()
        target = out / name
        if name in taken:
            first = taken[name]
            why = "is listed more than once" if first == path else f"would write the same {name} as {first}"
            plan.rejected.append(make_record(str(path), str(target), kind, "failed",
                                             f"{path}: not processed, it {why}; rename one of them", 0, 0.0))
            continue
        taken[name] = path
        plan.jobs.append(Job(str(path), str(target), name, kind, _resume_key(path, described[kind])))
    return plan
