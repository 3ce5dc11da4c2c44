"""humanseg: real-time human segmentation: cut out, blur or replace the background.

The runtime (this package without `training`) needs only ONNX Runtime, NumPy, OpenCV and PyAV.
"""
from .api import *  # noqa: F401,F403
from .api import __all__  # noqa: F401

__version__ = "0.1.0"
