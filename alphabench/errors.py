"""The errors a user can act on: each prints as one line saying what to do (cli.main), exit status 2.

Anything else raised inside alphabench is a bug, and shows its traceback.
"""


class AlphabenchError(Exception):
    """A problem with what the user gave or has installed; the message says how to fix it."""


class UsageError(AlphabenchError, ValueError):
    """A bad framing name, setting or option value."""


class BaselineError(AlphabenchError):
    """A baseline file cannot be used; the one-line message names the file, the field and the fix."""


class IncompatibleKeras(AlphabenchError, RuntimeError):
    """The installed Keras cannot run alphabench; the message says what to install."""
