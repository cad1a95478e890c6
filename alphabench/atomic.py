"""Writing a JSON file atomically: a reader sees the old file or the new one, never half of one.

The temp file sits in the same directory (so the rename is atomic), is fsynced before the rename,
keeps the old file's permissions (a new file gets the umask's), and names its writer's process, so
one left by a killed writer is removed by the next write. Output is deterministic (sorted keys):
writing the same document again changes no bytes.
"""

from __future__ import annotations

import glob
import json
import os
import stat
import tempfile
from pathlib import Path


def write_json(path: str | os.PathLike, document) -> None:
    """Write `document` to `path` as indented JSON with sorted keys, atomically."""
    path = Path(path)
    text = json.dumps(document, indent=1, sort_keys=True) + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    _remove_abandoned_temporaries(path)
    mode = stat.S_IMODE(path.stat().st_mode) if path.exists() else _default_file_mode()
    temporary = tempfile.NamedTemporaryFile(
        "w", encoding="utf-8", dir=path.parent, prefix=f"{_temporary_prefix(path)}{os.getpid()}-", suffix=".tmp",
        delete=False,
    )
    try:
        with temporary:
            temporary.write(text)
            temporary.flush()
            os.fchmod(temporary.fileno(), mode)  # mkstemp makes it 0600; the file keeps the old file's
            os.fsync(temporary.fileno())  # the data is on disk before the rename makes it visible
        os.replace(temporary.name, path)
    except BaseException:
        Path(temporary.name).unlink(missing_ok=True)
        raise


def _temporary_prefix(path: Path) -> str:
    """Hidden, named after the file; the writer's process id follows (see _remove_abandoned_temporaries)."""
    return f".{path.name}."


def _remove_abandoned_temporaries(path: Path) -> None:
    """Delete temp files of `path` whose writer is no longer running (killed mid-write).

    A live writer's temp file is left alone: deleting it would make its rename fail. On a directory
    shared between machines a remote writer's process id means nothing here; at worst its rename
    then fails and it reports an error, and no file is lost.
    """
    prefix = _temporary_prefix(path)
    for temporary in path.parent.glob(f"{glob.escape(prefix)}*.tmp"):
        writer = temporary.name[len(prefix):].partition("-")[0]
        if writer.isdigit() and not _process_running(int(writer)):
            temporary.unlink(missing_ok=True)


def _process_running(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, under another user
        return True
    return True


def _default_file_mode() -> int:
    """What open() would give a new file: 0666 less the umask (which can only be read by setting it)."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask
