"""Local sources: list every entry under a folder, then read files safely.

`scan_source(root)` walks the tree and yields one `SourceEntry` per directory entry, sorted by
`source_path`. A regular file that may be read has `reject_reason=None`; everything else (too
large, FIFO, socket, device, symbolic link that leaves the tree or is broken, a second path to
a file already listed, an entry that cannot be listed or stat'ed) is yielded too, with a reason
code from `transforms.reasons.REJECT_REASONS`, so the flow can write it to `rejects`. Nothing
under --source is skipped silently. The scan never opens a file; it opens directories only.

`read_entries(entries, max_bytes)` turns a batch of entries into one `DOCUMENTS` row per entry:
content and sha256 for the files that were read whole and unchanged; a reject row (content
null) for the entries rejected by the scan and for the files that turned out bad at read time
(vanished, unreadable, replaced, became a FIFO, grew past `max_bytes`: `extract.vanished`,
`extract.changed_during_run` when it differs from what the scan listed, `extract.changed_during_read`
when it changed while read).
Rows in = entries in, in the same order. It never raises for a file-system condition.

Symbolic links
--------------
Pass 1 walks the real directories only and records the (st_dev, st_ino) of every directory and
file it reaches. Pass 2 resolves the symbolic links met on the way, in sorted order:

- target outside --source (after `realpath`): `extract.symlink_outside`, not followed;
- target missing, or a chain of links that loops (ELOOP): `extract.symlink_broken`;
- target is a file or directory that was already reached (directly, or by an earlier link in
  sorted order): `extract.duplicate_link`, so the file is read once, under its real path; a
  link to an ancestor directory (a loop in the tree) lands here too;
- target inside --source that was not reached otherwise (its parent cannot be listed):
  followed; its files are named under the link's path and opened under their real path.

Hard links are two real directory entries: both are listed and read (dedup sees them later).

source_path: see flows/sources/paths.py.
"""
from __future__ import annotations

import errno
import hashlib
import os
import stat
import sys
from collections.abc import Iterator

from flows.sources.paths import SourceEntry, escape, source_path_from_bytes

READ_CHUNK = 1 << 20          # bytes per os.read() after the first, sized-to-fit read

_OPEN_FILE = (os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK
              | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0))
_OPEN_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)

# -- scan ----------------------------------------------------------------------------------

def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "named pipe (FIFO)"
    if stat.S_ISSOCK(mode):
        return "socket"
    if stat.S_ISCHR(mode):
        return "character device"
    if stat.S_ISBLK(mode):
        return "block device"
    if stat.S_ISDIR(mode):
        return "directory"
    if stat.S_ISLNK(mode):
        return "symbolic link"
    return f"special file (mode {stat.filemode(mode)})"


def _oserror_reason(err: OSError) -> str:
    if isinstance(err, (FileNotFoundError, NotADirectoryError)):
        return "extract.vanished"
    return "extract.unreadable"


# Names are handled as str in the file-system encoding (os.fsdecode form). On Linux that is
# UTF-8 with surrogateescape, which is exactly the decoding source_path needs, so the name
# only has to be escaped; any other encoding goes through bytes.
_FS_IS_UTF8 = (sys.getfilesystemencoding().lower().replace("-", "") == "utf8"
               and sys.getfilesystemencodeerrors() == "surrogateescape")


def _source_path(rel: str) -> str:
    return escape(rel) if _FS_IS_UTF8 else source_path_from_bytes(os.fsencode(rel))


class _Walk:
    """State of one scan: entries found, and what was already reached (by (dev, ino))."""

    def __init__(self, real_root: str, max_bytes: int) -> None:
        self.real_root = real_root
        self.root_prefix = real_root.rstrip("/") + "/"
        self.max_bytes = max_bytes
        self.out: list[SourceEntry] = []
        self.seen_dirs: dict[tuple[int, int], str] = {}
        self.seen_files: dict[tuple[int, int], str] = {}
        self.links: list[tuple[str, str]] = []      # (rel, abs) met but not yet resolved

    def add(self, rel: str, abs_path: str, reason: str, detail: str,
            st: os.stat_result | None = None) -> None:
        if st is None:
            self.out.append(SourceEntry(_source_path(rel), abs_path, -1, reason, detail))
        else:
            self.out.append(SourceEntry(_source_path(rel), abs_path, st.st_size, reason, detail,
                                        (st.st_dev, st.st_ino), st.st_mtime_ns))

    def add_file(self, rel: str, abs_path: str, st: os.stat_result) -> None:
        """A non-directory, non-link entry reached for the first time."""
        self.seen_files.setdefault((st.st_dev, st.st_ino), rel)
        if not stat.S_ISREG(st.st_mode):
            self.add(rel, abs_path, "extract.not_regular_file", _kind(st.st_mode) + "; never opened", st)
        elif st.st_size > self.max_bytes:
            self.add(rel, abs_path, "extract.too_large",
                     f"{st.st_size} bytes > max_bytes {self.max_bytes}; not read", st)
        else:
            self.out.append(SourceEntry(_source_path(rel), abs_path, st.st_size, None, "",
                                        (st.st_dev, st.st_ino), st.st_mtime_ns))

    def walk(self, abs_top: str, rel_top: str) -> None:
        """Depth-first over real directories from abs_top; links are queued, not followed."""
        stack = [(abs_top, rel_top)]
        while stack:
            abs_dir, rel_dir = stack.pop()
            shown = rel_dir + "/" if rel_dir else "./"
            try:
                fd = os.open(abs_dir, _OPEN_DIR)
            except OSError as err:
                self.add(shown, abs_dir, _oserror_reason(err),
                         f"directory could not be opened: {err.strerror}")
                continue
            try:
                dst = os.fstat(fd)
                key = (dst.st_dev, dst.st_ino)
                if key in self.seen_dirs:       # a bind mount of an ancestor, or similar
                    first = _source_path(self.seen_dirs[key] or ".")
                    self.add(shown, abs_dir, "extract.duplicate_link",
                             f"directory already listed as {first}/")
                    continue
                self.seen_dirs[key] = rel_dir
                with os.scandir(fd) as it:      # names in fs encoding; stat() uses fstatat(fd)
                    items = sorted(it, key=lambda e: e.name)
                dir_prefix = abs_dir.rstrip("/") + "/"
                rel_prefix = rel_dir + "/" if rel_dir else ""
                subdirs = []
                for e in items:
                    rel = rel_prefix + e.name
                    abs_path = dir_prefix + e.name
                    try:
                        if e.is_symlink():
                            self.links.append((rel, abs_path))
                        elif e.is_dir(follow_symlinks=False):
                            subdirs.append((abs_path, rel))
                        else:
                            self.add_file(rel, abs_path, e.stat(follow_symlinks=False))
                    except OSError as err:
                        self.add(rel, abs_path, _oserror_reason(err), f"could not stat: {err.strerror}")
                stack.extend(reversed(subdirs))
            except OSError as err:
                self.add(shown, abs_dir, _oserror_reason(err),
                         f"directory could not be listed: {err.strerror}")
            finally:
                os.close(fd)

    def resolve_links(self) -> None:
        """Pass 2: settle each queued link; links met under followed links go to a later round."""
        while self.links:
            batch, self.links = sorted(self.links), []
            for rel, abs_path in batch:
                self.resolve_link(rel, abs_path)

    def resolve_link(self, rel: str, abs_path: str) -> None:
        try:
            shown_target = _source_path(os.readlink(abs_path))
        except OSError as err:
            self.add(rel, abs_path, _oserror_reason(err), f"could not read link: {err.strerror}")
            return
        target = os.path.realpath(abs_path)
        if target != self.real_root and not target.startswith(self.root_prefix):
            self.add(rel, abs_path, "extract.symlink_outside", f"-> {shown_target}; not followed")
            return
        try:
            st = os.stat(abs_path)
        except OSError as err:
            if isinstance(err, (FileNotFoundError, NotADirectoryError)):
                self.add(rel, abs_path, "extract.symlink_broken", f"-> {shown_target}: target does not exist")
            elif err.errno == errno.ELOOP:
                self.add(rel, abs_path, "extract.symlink_broken", f"-> {shown_target}: symbolic link loop")
            else:
                self.add(rel, abs_path, "extract.unreadable", f"-> {shown_target}: {err.strerror}")
            return
        key = (st.st_dev, st.st_ino)
        if stat.S_ISDIR(st.st_mode):
            if key in self.seen_dirs:
                first = _source_path(self.seen_dirs[key] or ".")
                self.add(rel, abs_path, "extract.duplicate_link",
                         f"-> {shown_target}: directory already listed as {first}/")
            else:
                self.walk(target, rel)
        elif key in self.seen_files:
            first = _source_path(self.seen_files[key])
            self.add(rel, abs_path, "extract.duplicate_link",
                     f"-> {shown_target}: same file as {first}; read once under that path", st)
        else:
            self.add_file(rel, target, st)


def scan_local(root: str | os.PathLike, max_bytes: int) -> Iterator[SourceEntry]:
    """List every entry under root, sorted by source_path; see the module docstring.

    Grain: one entry per directory entry under root (directories themselves only when they
    cannot be listed). Regular files of at most max_bytes come with reject_reason None; all
    other entries carry the reject code that the flow writes to `rejects`. The whole tree is
    walked before this returns (sorting needs it). Raises FileNotFoundError /
    NotADirectoryError, at the call, only when root itself is missing or not a directory (a
    usage error); every condition below root is reported as an entry.
    """
    real_root = os.path.realpath(os.fsdecode(os.fspath(root)))
    if not stat.S_ISDIR(os.stat(real_root).st_mode):
        raise NotADirectoryError(errno.ENOTDIR, "source is not a directory", real_root)
    walk = _Walk(real_root, max_bytes)
    walk.walk(real_root, "")
    walk.resolve_links()
    walk.out.sort(key=lambda entry: entry.source_path)
    return iter(walk.out)



# -- read ----------------------------------------------------------------------------------

# (source_sha256, size_bytes, content, reject_reason, reject_detail)
Row = tuple[str | None, int, bytes | None, str | None, str | None]


def read_local(entry: SourceEntry, max_bytes: int) -> Row:
    """Read one file once; any file-system condition becomes a reject row, never an exception."""
    try:
        fd = os.open(os.fsencode(entry.abs_path), _OPEN_FILE)
    except (FileNotFoundError, NotADirectoryError):
        return None, entry.size_bytes, None, "extract.vanished", "deleted after the scan"
    except PermissionError as err:
        return None, entry.size_bytes, None, "extract.unreadable", f"could not open: {err.strerror}"
    except OSError as err:
        if err.errno == errno.ELOOP:
            return (None, entry.size_bytes, None, "extract.changed_during_run",
                    "replaced by a symbolic link after the scan; not followed")
        if err.errno == errno.ENXIO:
            return (None, entry.size_bytes, None, "extract.not_regular_file",
                    "became a socket or device after the scan; not read")
        return None, entry.size_bytes, None, "extract.unreadable", f"could not open: {err.strerror}"
    except ValueError as err:               # a path with a NUL byte: cannot name a file
        return None, entry.size_bytes, None, "extract.unreadable", f"invalid path: {err}"
    try:
        st0 = os.fstat(fd)
        if not stat.S_ISREG(st0.st_mode):
            return (None, st0.st_size, None, "extract.not_regular_file",
                    f"became a {_kind(st0.st_mode)} after the scan; not read")
        if entry.file_id is not None and (st0.st_dev, st0.st_ino) != entry.file_id:
            return (None, st0.st_size, None, "extract.changed_during_run",
                    "replaced by another file after the scan; not read")
        if st0.st_size > max_bytes:
            return (None, st0.st_size, None, "extract.too_large",
                    f"{st0.st_size} bytes > max_bytes {max_bytes}; not read")
        if entry.mtime_ns >= 0 and (st0.st_size, st0.st_mtime_ns) != (entry.size_bytes, entry.mtime_ns):
            return (None, st0.st_size, None, "extract.changed_during_run",
                    f"modified after the scan (size {entry.size_bytes} -> {st0.st_size}); not read")
        # Ask for one byte more than fstat promised: a short read is the end of the file (a
        # later append shows in the second fstat), a full one means the file grew, so go on.
        # One byte past max_bytes is enough to tell "too large"; the rest is never read.
        limit = max_bytes + 1
        want = min(st0.st_size + 1, limit)
        chunk = os.read(fd, want)
        chunks = [chunk]
        got = len(chunk)
        while len(chunk) == want and got < limit:
            want = min(READ_CHUNK, limit - got)
            chunk = os.read(fd, want)
            chunks.append(chunk)
            got += len(chunk)
        st1 = os.fstat(fd)
    except OSError as err:
        return None, entry.size_bytes, None, "extract.unreadable", f"read failed: {err.strerror}"
    finally:
        os.close(fd)
    data = chunks[0] if len(chunks) == 1 else b"".join(chunks)
    sha = hashlib.sha256(data).hexdigest()
    if (st1.st_size, st1.st_mtime_ns) != (st0.st_size, st0.st_mtime_ns):
        return (sha, st1.st_size, None, "extract.changed_during_read",
                f"size {st0.st_size} -> {st1.st_size} while reading; {len(data)} bytes read")
    if len(data) > max_bytes:
        return (sha, st1.st_size, None, "extract.too_large",
                f"more than max_bytes {max_bytes} bytes read although size is {st1.st_size}; "
                "rest not read")
    if len(data) != st1.st_size:
        return (sha, st1.st_size, None, "extract.changed_during_read",
                f"{len(data)} bytes read but size is {st1.st_size}")
    return sha, len(data), data, None, None

