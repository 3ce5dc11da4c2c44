"""The output folder during a run: held by one run at a time (a lock file), cleared of the hidden
temporaries (`.NAME.<8 hex>.part`, io/images.py temp_beside) that a killed run left beside its outputs, and
which planned output (if any) a given file is."""
from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

from ..errors import OutputError

LOCK = ".humanseg-batch.lock"


class OutputLock:
    """An exclusive lock on `folder/.humanseg-batch.lock` for the run (released by the OS when the process
    dies, even by SIGKILL). A second run on the same output folder is refused. Where the OS has no
    fcntl (Windows) nothing is locked."""

    def __init__(self, folder: Path):
        self.path = Path(folder) / LOCK
        self._fd = None

    def __enter__(self):
        try:
            import fcntl
        except ImportError:
            return self
        try:
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666)
        except OSError as exc:
            raise OutputError(f"{self.path.parent}: cannot write ({exc.strerror or exc}); check permissions") from exc
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(self._fd)
            self._fd = None
            raise OutputError(f"{self.path.parent}: another `humanseg batch` is writing into this folder; wait for "
                              "it to finish or choose another output folder") from None
        return self

    def __exit__(self, *exc):
        if self._fd is not None:
            os.close(self._fd)   # closing releases the lock
            self._fd = None


def output_named(path: str | Path, out: Path, names: list[str]) -> str | None:
    """The name (of `names`, output paths relative to `out`) whose output is the file `path`: the same resolved
    path, or where both exist the same file (a hard link); None when none is."""
    real = os.path.realpath(path)
    inode = file_identity(path)
    out_real = os.path.realpath(out)
    for name in names:
        if os.path.normpath(os.path.join(out_real, name)) == real or (
                inode is not None and file_identity(out / name) == inode):
            return name
    return None


def file_identity(path: str | Path) -> tuple[int, int] | None:
    """(device, inode) of the file at `path` (links followed), None when there is none."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino


def remove_stale_temporaries(outputs: list[str]) -> int:
    """Remove `.NAME.<8 hex>.part` files and folders beside each output path: only a killed run leaves
    them, and the caller holds the folder's lock. Returns how many were removed."""
    by_folder: dict[Path, set[str]] = {}
    for out in outputs:
        p = Path(out)
        by_folder.setdefault(p.parent, set()).add(p.name)
    pattern = re.compile(r"^\.(.+)\.[0-9a-f]{8}\.part$")
    removed = 0
    for folder, names in by_folder.items():
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in entries:
            m = pattern.match(entry.name)
            if m and m.group(1) in names:
                try:
                    if entry.is_dir(follow_symlinks=False):
                        shutil.rmtree(entry.path)
                    else:
                        os.unlink(entry.path)
                    removed += 1
                except OSError:
                    pass
    return removed
