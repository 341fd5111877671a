"""Safe file writing: never replace a user's file unasked, never leave a half-written one.

Example:
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "note.txt"
    >>> atomic_write_text(p, "hello").read_text()
    'hello'
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from umbra.exceptions import InputError, OutputExistsError


def check_output(path: Path, *, force: bool) -> None:
    """Raise when ``path`` exists (without ``force``) or its folder is missing."""
    if path.exists() and not force:
        raise OutputExistsError(
            f"{path}: exists already; choose another output path or pass --force "
            "(force=True) to replace it."
        )
    if path.is_dir():
        raise InputError(f"{path}: is a directory; give a file path.")
    if not path.parent.exists():
        raise InputError(f"{path}: the folder {path.parent} does not exist; create it first.")


def check_outputs(outputs: list[Path | None], inputs: list[Path | None], *, force: bool) -> None:
    """Check every output before any work: distinct, not an input, and not existing unasked.

    Example:
        >>> try:
        ...     check_outputs([Path("a.csv")], [Path("a.csv")], force=True)
        ... except InputError as exc:
        ...     print(exc)
        a.csv: is also an input of this command; choose another output path.
    """
    given = [p for p in outputs if p is not None]
    sources = [p.resolve() for p in inputs if p is not None]
    seen: set[Path] = set()
    for path in given:
        resolved = path.resolve()
        if resolved in sources:
            raise InputError(
                f"{path}: is also an input of this command; choose another output path."
            )
        if resolved in seen:
            raise InputError(f"{path}: is named for two outputs; give each output its own path.")
        seen.add(resolved)
        check_output(path, force=force)


def atomic_write(path: Path, writer: Callable[[str], None], *, force: bool = False) -> Path:
    """Call ``writer(tmp_path)`` then rename the temporary file onto ``path``."""
    check_output(path, force=force)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    os.close(fd)
    try:
        writer(tmp)
        os.chmod(tmp, _default_mode())
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
    return path


def _default_mode() -> int:
    """The permissions a plain ``open(path, "w")`` would give (0o666 less the umask)."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def atomic_write_text(path: Path, text: str, *, force: bool = False) -> Path:
    """Write ``text`` (UTF-8) atomically to ``path``."""

    def writer(tmp: str) -> None:
        Path(tmp).write_text(text, encoding="utf-8")

    return atomic_write(path, writer, force=force)
