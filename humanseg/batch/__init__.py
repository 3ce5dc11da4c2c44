"""`humanseg batch`: a folder tree or a list of images and videos into a mirrored output tree, resumable,
with a JSON-lines manifest; the same per-file function on a local process pool or on a Ray cluster.

    jobs.py        the inputs, each with its output path and resume key; duplicates and unusable entries
    work.py        BatchSettings and FileWorker, the per-file function every engine runs
    manifest.py    the run's JSON-lines manifest and the resume journal
    outdir.py      the output folder's lock and the temporaries an interrupted run left behind
    local.py       engine: a process pool on this machine
    ray_engine.py  engine: Ray actors for images, one Ray task per video (needs humanseg[batch])
    run.py         run_batch: plan, skip finished work, run an engine, record, show progress

Ray is imported only by ray_engine.py, and only when that engine runs.
"""
from .run import ENGINES, make_engine, run_batch
from .work import BatchSettings

__all__ = ["BatchSettings", "run_batch", "make_engine", "ENGINES"]
