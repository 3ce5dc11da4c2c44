"""The file types humanseg reads, by suffix: one list for every command, the training data and the tools."""
from __future__ import annotations

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"}
VIDEO_SUFFIXES = {".mp4", ".mov", ".mkv", ".webm", ".avi", ".m4v"}
# read, never written: a GIF with one frame is an image, an animated one a video (io/animation.py tells them apart)
GIF_SUFFIXES = {".gif"}
