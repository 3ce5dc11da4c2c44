"""run_batch: plan the jobs, skip what a previous run finished with the same settings, run the rest on an
engine, and record every input in the manifest, with a progress bar (files/s, frames/s, ETA)."""
from __future__ import annotations

import os
import sys
import time
import warnings
from pathlib import Path

from ..effects import background_file
from ..effects.finishing import PoissonBlend, has_finishing
from ..errors import HumansegWarning, InputError, OutputError
from .jobs import check_folders, plan_jobs
from .manifest import MANIFEST, RESUME_JOURNAL, Manifest, ResumeJournal, check_manifest_path, make_record
from .outdir import LOCK, OutputLock, output_named, remove_stale_temporaries
from .work import BatchSettings

ENGINES = ("local", "ray")


def make_engine(name: str = "local", workers: int | None = None, address: str | None = None,
                cpus_per_actor: float | None = None, gpus_per_actor: float | None = None):
    """An engine by name: "local" (LocalEngine, workers processes) or "ray" (RayEngine)."""
    if name == "local":
        from .local import LocalEngine

        given = [opt for opt, value in (("--address", address), ("--cpus-per-actor", cpus_per_actor),
                                        ("--gpus-per-actor", gpus_per_actor)) if value is not None]
        if given:
            raise InputError(f"{', '.join(given)}: for --engine ray only")
        return LocalEngine(workers)
    if name == "ray":
        from .ray_engine import RayEngine

        return RayEngine(address, workers, 1.0 if cpus_per_actor is None else cpus_per_actor, gpus_per_actor or 0.0)
    raise InputError(f"engine '{name}': use one of {', '.join(ENGINES)}")


def run_batch(inp: str | Path, out: str | Path, settings: BatchSettings | None = None, engine=None,
              manifest: str | Path | None = None, progress: bool = True) -> dict:
    """Every image and video under the folder `inp` (or listed in the text file `inp`) -> the same relative
    path under `out` (.png for transparent and mask images, .webm for transparent videos but .mov).

    Resume: an output is skipped when it exists and `out/.humanseg-batch-resume.jsonl` says it was made from
    this input (path, size, mtime) with these settings. The manifest (default `out/manifest.jsonl`, new each
    run) gets one JSON line per input, flushed as it finishes: input, output, kind, status (done, skipped,
    failed, ignored), reason, frames, seconds, warnings. A bad file is a failed record, printed to stderr as it
    happens, never the end of the run. engine: make_engine(...) (default: local); any object with prepare(), close()
    and run(jobs, settings, report) where report(record) is called in this thread for each job.

    A file already at an output path that no earlier run into `out` made (or set out to make) is the
    user's: it is kept, its input is not processed and the record is failed (counted in "kept_existing").
    The manifest may replace an earlier manifest only: an input, an output, the resume journal or lock, a
    folder or any other existing file there is an OutputError before anything is written, as is an output
    path that is the effect's background file.

    Files in the folder that are not images or videos (and links to folders, not followed) are "ignored"
    records, named in one warning; they do not make the run fail.

    Returns {"done", "skipped", "failed", "ignored", "kept_existing", "frames", "seconds", "manifest"}.
    """
    inp, out = Path(inp), Path(out)
    settings = settings or BatchSettings()
    engine = engine or make_engine()
    start = time.perf_counter()
    check_folders(inp, out)
    settings.describe("video")   # bad settings (a --bg that is no file, a missing model) before any folder is made
    plan = plan_jobs(inp, out, settings)
    manifest_path = Path(manifest) if manifest else out / MANIFEST
    _check_manifest_path(manifest_path, inp, out, plan)
    _check_background_kept(settings, out, plan)
    _check_stills_only_finishing(settings, plan)
    engine.prepare()             # a Ray cluster that cannot be reached, too
    try:
        _make_folder(out)
        with OutputLock(out):
            with Manifest(manifest_path) as records, _Recorder(records, ResumeJournal(out / RESUME_JOURNAL),
                                                               plan.jobs) as recorder:
                for record in plan.rejected + plan.ignored:
                    recorder.report(record)
                if plan.ignored:
                    warnings.warn(_ignored_summary(plan.ignored), HumansegWarning, stacklevel=2)
                if not plan.jobs and not plan.rejected:
                    where = f"{inp} lists no paths" if inp.is_file() else f"found no images or videos in {inp}"
                    warnings.warn(f"nothing to do: {where}", HumansegWarning, stacklevel=2)
                todo = []
                for job in plan.jobs:
                    entry = recorder.journal.finished(job.name, job.key)
                    if entry is not None and Path(job.output).is_file():
                        recorder.report(make_record(job.input, job.output, job.kind, "skipped", None, entry["frames"],
                                                    0.0))
                    elif os.path.lexists(job.output) and not recorder.journal.knows(job.name):
                        recorder.kept(job)   # a file no run into this folder made: the user's, never replaced
                    else:
                        todo.append(job)
                recorder.journal.start([job.name for job in todo])
                removed = remove_stale_temporaries([job.output for job in todo])
                if removed:
                    warnings.warn(f"removed {removed} temporary file(s) an interrupted run left in {out}",
                                  HumansegWarning, stacklevel=2)
                recorder.show_progress(len(todo), f"batch ({getattr(engine, 'name', 'engine')})", progress)
                engine.run(todo, settings, recorder.report)
    finally:
        engine.close()
    return {**recorder.counts, "seconds": round(time.perf_counter() - start, 3), "manifest": str(manifest_path)}


class _Recorder:
    """Takes each record as it comes (in the caller's thread): manifest line, resume journal entry for a
    done output, counts, failures and warnings to stderr, the progress bar (files/s and ETA from tqdm,
    frames/s and failures beside them)."""

    def __init__(self, manifest: Manifest, journal: ResumeJournal, jobs: list):
        self.manifest, self.journal = manifest, journal
        self.jobs = {job.output: job for job in jobs}
        self.counts = {"done": 0, "skipped": 0, "failed": 0, "ignored": 0, "kept_existing": 0, "frames": 0}
        self.bar = None
        self.started = time.perf_counter()

    def show_progress(self, total: int, desc: str, enabled: bool) -> None:
        from tqdm import tqdm

        self.started = time.perf_counter()
        self.bar = tqdm(total=total, unit="file", desc=desc, disable=not enabled or not total, dynamic_ncols=True)

    def kept(self, job) -> None:
        """The failed record of a job whose output path holds a file no batch run made."""
        self.counts["kept_existing"] += 1
        self.report(make_record(job.input, job.output, job.kind, "failed",
                                f"{job.output}: already exists and no earlier humanseg batch into this folder "
                                f"wrote it; kept, {Path(job.input).name} not processed (move the file away or "
                                "choose another output folder)", 0, 0.0))

    def report(self, record: dict) -> None:
        status = record["status"]
        job = self.jobs.get(record["output"])
        if status == "done" and job is not None:   # journal first: a done line in the manifest means resumable
            self.journal.record(job.name, job.key, record["frames"])
        self.manifest.write(record)
        self.counts[status] += 1
        for note in record["warnings"]:
            warnings.warn(note, HumansegWarning, stacklevel=2)
        if status == "failed":
            self._say(f"humanseg: failed: {record['reason']}")
        if status in ("done", "failed"):
            self.counts["frames"] += record["frames"]
            if self.bar is not None:
                self.bar.update(1)
                rate = self.counts["frames"] / max(time.perf_counter() - self.started, 1e-9)
                self.bar.set_postfix(frames_per_s=f"{rate:.1f}", failed=self.counts["failed"], refresh=False)

    def _say(self, line: str) -> None:
        if self.bar is not None and not self.bar.disable:
            self.bar.write(line, file=sys.stderr)
        else:
            print(line, file=sys.stderr)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.bar is not None:
            self.bar.close()
        self.journal.close()


def _ignored_summary(records: list[dict], named: int = 10) -> str:
    """One line naming the files of the input folder that batch left out (the first `named` of them)."""
    from ..io.images import one_of, some_of
    from .jobs import READ_SUFFIXES

    paths = [r["input"] for r in records]
    return (f"left out {len(paths)} path(s) that are not images or videos ({one_of(READ_SUFFIXES)}) or are links "
            f"to folders: {some_of(paths, named)}; the manifest has each as ignored, with why")


def _check_manifest_path(path: Path, inp: Path, out: Path, plan) -> None:
    """The manifest must not replace an input (the list file too), an output, the journal or the lock."""
    kept = {"the resume journal": out / RESUME_JOURNAL, "the output folder's lock file": out / LOCK}
    if inp.is_file():
        kept["the input list"] = inp
    inputs = [job.input for job in plan.jobs] + [record["input"] for record in plan.rejected]
    check_manifest_path(path, out, inputs, [job.name for job in plan.jobs], kept)


def _check_background_kept(settings: BatchSettings, out: Path, plan) -> None:
    """No output may be the --bg file (as `humanseg image` refuses it)."""
    background = background_file(settings.effect)
    name = output_named(background, out, [job.name for job in plan.jobs]) if background else None
    if name is not None:
        raise OutputError(f"{out / name}: output path is the --bg background file; choose another output folder "
                          "so the background is kept")


def _check_stills_only_finishing(settings: BatchSettings, plan) -> None:
    """Poisson blending is refused on video (convert_video would fail every video one by one, after the images
    were made); say so before anything is written, naming the videos."""
    if settings.effect is None or not has_finishing(settings.effect, PoissonBlend):
        return
    videos = [job.input for job in plan.jobs if job.kind == "video"]
    if videos:
        named = ", ".join(str(v) for v in videos[:3]) + (f" and {len(videos) - 3} more" if len(videos) > 3 else "")
        raise InputError(f"--poisson is for still images and the input holds {len(videos)} video(s) ({named}); "
                         "run the videos without it (--harmonize and --light-wrap work on video)")


def _make_folder(out: Path) -> None:
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"{out}: cannot create the output folder ({exc.strerror or exc})") from exc
