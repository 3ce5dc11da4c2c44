"""Errors a user can cause. The CLI prints them in one line and exits non-zero."""


class HumansegError(Exception):
    """Base class: the message says what went wrong and what to do."""


class InputError(HumansegError):
    """An input file is missing, unreadable, empty or of an unsupported kind."""


class OutputError(HumansegError):
    """An output cannot be written (same as input, no space, no permission)."""


class ModelError(HumansegError):
    """A model name or file is unknown or cannot be loaded."""


class OptionError(HumansegError, ValueError):
    """An option has a value the command cannot use (e.g. an unknown part or loss name)."""


class DeviceError(HumansegError):
    """A camera or virtual camera is missing."""


class HumansegWarning(UserWarning):
    """Something was done differently from what was asked (e.g. characters a font cannot draw were
    left out). The CLI prints it in one line as `humanseg: warning: ...`."""
