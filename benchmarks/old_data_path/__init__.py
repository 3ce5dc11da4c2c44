"""The per-sample OpenCV training data path that `humanseg train` used before batches moved onto the
device (humanseg/training/data/batches.py). It is kept here only as the "old" baseline of
benchmarks/train_throughput.py; nothing in the package imports it."""
