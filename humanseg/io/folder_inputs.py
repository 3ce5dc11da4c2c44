"""What folder mode (`humanseg image DIR OUT`, convert_folder) reads from a folder, and what it leaves out and
why: it is not recursive and reads still images only (a one-frame GIF is one); an animated GIF/PNG/WebP, a video, a
folder or any other file is left out, never silently (one warning names them). Hidden files are left out
without a word, as by `humanseg batch`."""
from __future__ import annotations

from pathlib import Path

from .animation import ANIMATABLE_SUFFIXES, kind_of
from .images import one_of, some_of, unreadable
from .suffixes import GIF_SUFFIXES, IMAGE_SUFFIXES

# why an entry is left out, and what to do
ANIMATED = "an animated GIF, PNG or WebP: use `humanseg video` for one, `humanseg batch` for a folder"
VIDEOS = "a video: use `humanseg video` for one, `humanseg batch` for a folder"
FOLDERS = "a folder: folder mode does not go into folders, `humanseg batch` does"
NOT_FILES = "not a file (a broken link, a socket or a device)"
OTHERS = f"not an image by its suffix: folder mode reads {one_of(IMAGE_SUFFIXES | GIF_SUFFIXES)}"


def folder_images(folder: Path, output: Path | None = None) -> tuple[list[Path], dict[str, list[str]]]:
    """(the images in `folder`, in name order; {why: the names of the other entries, in name order}, hidden
    entries and the output folder, when it lies inside, aside). InputError when the folder cannot be listed."""
    images: list[Path] = []
    left_out: dict[str, list[str]] = {}
    skip = output.resolve() if output is not None else None
    try:
        entries = sorted(p for p in Path(folder).iterdir() if not p.name.startswith("."))
        for path in entries:
            if skip is not None and path.resolve() == skip:
                continue
            why = _why_left_out(path)
            if why is None:
                images.append(path)
            else:
                left_out.setdefault(why, []).append(path.name)
    except OSError as exc:
        raise unreadable(folder, exc) from exc
    return images, left_out


def _why_left_out(path: Path) -> str | None:
    """None for a still image; otherwise the group of entries folder mode leaves out that `path` is in."""
    if path.is_dir():
        return FOLDERS
    if not path.is_file():
        return NOT_FILES
    kind = kind_of(path)
    if kind == "image":
        return None
    if kind == "video":
        return ANIMATED if path.suffix.lower() in ANIMATABLE_SUFFIXES else VIDEOS
    return OTHERS


def left_out_lines(left_out: dict[str, list[str]]) -> list[str]:
    """One line an entry left out: 'name: left out, why'."""
    return [f"{name}: left out, {why}" for why, names in left_out.items() for name in names]


def left_out_summary(folder: Path, left_out: dict[str, list[str]], shown: int = 10) -> str:
    """One line saying what folder mode left out of `folder` and why, naming the first `shown` entries."""
    count = sum(len(names) for names in left_out.values())
    kinds = []
    for why, names in left_out.items():
        kinds.append(f"{some_of(names, shown) if shown else f'{len(names)} more'} ({why})")
        shown = max(0, shown - len(names))
    return f"left out {count} entr{'y' if count == 1 else 'ies'} of {folder} that are not still images: " \
           + "; ".join(kinds)
