"""Sources given as URLs (s3://bucket/news, gs://..., file:///data/news): listed and read
through fsspec, with the same SourceEntry / DOCUMENTS rows as the local walker.

    newsetl run --source s3://my-bucket/raw/2026-11-25 --warehouse warehouse

The backend of a protocol is a separate package (s3fs, gcsfs, adlfs); without it the run stops
with exit 2 and says which package to install. Credentials come from the backend's usual
places (environment, config files). Object stores have no links, devices or inodes, so the
checks of the local reader reduce to: the object is no larger than max_bytes, and it can be
read; the size listed at the scan must match the bytes read (else
`extract.changed_during_read`).

The warehouse stays a local (or mounted) folder: publishing a version is an atomic rename
and runs take a file lock, which object stores do not offer."""
from __future__ import annotations

import hashlib
from collections.abc import Iterator

from flows.errors import SourceError
from flows.sources.paths import SourceEntry, escape


def _fs(url: str):
    import fsspec
    try:
        return fsspec.core.url_to_fs(url)
    except ImportError as e:
        proto = url.split("://", 1)[0]
        raise SourceError(f"no fsspec backend for {proto}:// is installed ({e}); install it, e.g. "
                          f"`uv pip install {_PACKAGES.get(proto, proto + 'fs')}`") from None
    except ValueError as e:
        raise SourceError(f"cannot open {url}: {e}") from None


_PACKAGES = {"s3": "s3fs", "s3a": "s3fs", "gs": "gcsfs", "gcs": "gcsfs", "az": "adlfs", "abfs": "adlfs",
             "abfss": "adlfs", "hf": "huggingface_hub", "sftp": "paramiko", "ssh": "paramiko"}


def check_url(url: str) -> None:
    """Raise SourceError unless `url` names a folder (prefix) of a known fsspec backend."""
    fs, path = _fs(url)
    try:
        ok = fs.isdir(path)
    except Exception as e:  # noqa: BLE001 - any backend error is a usage problem here
        raise SourceError(f"cannot list {url}: {type(e).__name__}: {e}") from None
    if not ok:
        raise SourceError(f"source {url} does not exist or is not a folder")


def scan_url(url: str, max_bytes: int) -> Iterator[SourceEntry]:
    """Every object under `url`, sorted by source_path (relative to `url`, escaped as for local
    files); objects above max_bytes come with extract.too_large."""
    fs, root = _fs(url)
    root = root.rstrip("/")
    proto = url.split("://", 1)[0]
    out = []
    for path, info in fs.find(root, detail=True).items():
        rel = path[len(root):].lstrip("/") if path.startswith(root) else path
        size = int(info.get("size") or 0)
        full = f"{proto}://{path}"
        if size > max_bytes:
            out.append(SourceEntry(escape(rel), full, size, "extract.too_large",
                                   f"{size} bytes > max_bytes {max_bytes}; not read"))
        else:
            out.append(SourceEntry(escape(rel), full, size, None, ""))
    out.sort(key=lambda e: e.source_path)
    return iter(out)


def read_url(entry: SourceEntry, max_bytes: int):
    """(source_sha256, size_bytes, content, reject_reason, reject_detail) of one object."""
    fs, path = _fs(entry.abs_path)
    try:
        with fs.open(path, "rb") as f:
            data = f.read(max_bytes + 1)
    except FileNotFoundError:
        return None, entry.size_bytes, None, "extract.vanished", "deleted after the scan"
    except Exception as e:  # noqa: BLE001 - every backend error is a reject row, never a crash
        return None, entry.size_bytes, None, "extract.unreadable", f"read failed: {type(e).__name__}: {e}"
    sha = hashlib.sha256(data).hexdigest()
    if len(data) > max_bytes:
        return sha, len(data), None, "extract.too_large", f"more than max_bytes {max_bytes} bytes; rest not read"
    if entry.size_bytes >= 0 and len(data) != entry.size_bytes:
        return (sha, len(data), None, "extract.changed_during_read",
                f"listed with {entry.size_bytes} bytes, {len(data)} read")
    return sha, len(data), data, None, None
