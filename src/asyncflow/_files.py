"""Writing files whole or not at all.

Every file AsyncFlow writes goes through :func:`atomic_path`: the writer
writes a temporary file beside the target (same directory, so the same file
system), and only a complete file is renamed onto the target. A run that is
interrupted or fails while writing leaves the previous file, or none, never
half of one. Parent directories are created as needed.
"""

from __future__ import annotations

import errno
import os
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

__all__ = ["atomic_path", "write_atomic", "write_text_atomic"]


@contextmanager
def atomic_path(target: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path to write; rename it onto ``target`` when the block succeeds.

    The temporary name is hidden (a leading dot), unique, and keeps the
    target's suffix, so writers that choose a format by suffix still work.
    If the block raises (``KeyboardInterrupt`` included), the temporary file
    is removed and ``target`` is left as it was.

    Args:
        target: The file to write; its parent directories are created.

    Yields:
        The temporary path to write to.
    """
    final = Path(target)
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
    except FileExistsError as error:  # a file stands where a directory is needed
        reason = f"{error.filename} is not a directory"
        raise NotADirectoryError(errno.ENOTDIR, reason, str(final)) from error
    temporary = final.with_name(f".{final.name}.{secrets.token_hex(4)}.tmp{final.suffix}")
    try:
        yield temporary
        os.replace(temporary, final)
    except BaseException:
        with suppress(FileNotFoundError):
            temporary.unlink()
        raise


def write_atomic(target: str | os.PathLike[str], writer: Callable[[Path], object]) -> Path:
    """Call ``writer(temporary_path)`` and move the result onto ``target``.

    Returns:
        ``target`` as a ``Path``.
    """
    with atomic_path(target) as temporary:
        writer(temporary)
    return Path(target)


def write_text_atomic(target: str | os.PathLike[str], text: str) -> Path:
    """Write ``text`` (UTF-8) to ``target`` atomically.

    Returns:
        ``target`` as a ``Path``.
    """
    return write_atomic(target, lambda path: path.write_text(text, encoding="utf-8"))
