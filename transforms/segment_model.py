"""What the installed underthesea word segmentation model is, read without importing underthesea.

`load_installed()` returns the CRF model (labels, attribute names, state and transition
weights, read from the CRFsuite file with underthesea_core's loading rules), its feature
templates, its dictionary, and underthesea's own character normalizer, regex tokenizer and
word_tokenize: everything `transforms.segment_crf.CrfSegmenter` needs. `parse_templates()`
turns the templates into (syntax, first offset, last offset, function).

The files are found in the installed underthesea distribution by its RECORD and read when
`load_installed()` is called (the segmenter does so once per process, on first use), without
importing the package: its __init__ imports every pipeline (about 60 MB and 0.9 s per process)
and joblib. underthesea's tokenizer, normalizer and word_tokenize modules (the last for the
texts handed to it) are executed into private module objects, never put in sys.modules, and
its pickles are read as plain pickles (`_PrivateUnderthesea`). A model that is not the
supported kind (file format, labels, templates, underthesea_core major version, a tokenizer
source that no longer loads this way) raises `UnsupportedModel`.
"""
from __future__ import annotations

import builtins
import importlib.metadata
import io
import pickle
import re
import struct
import types

import numpy as np

__all__ = ["MAX_OFFSET", "UnsupportedModel", "load_installed", "parse_templates"]

_MODEL_DIR = "underthesea/pipeline/word_tokenize/models/ws_crf_vlsp2013_20230727"
# the underthesea modules word_tokenize needs, run privately (see `_PrivateUnderthesea`)
_PRIVATE_FILES = {
    "underthesea.pipeline.text_normalize.text_normalizer":
        "underthesea/pipeline/text_normalize/text_normalizer.py",
    "underthesea.pipeline.text_normalize.character_normalize":
        "underthesea/pipeline/text_normalize/character_normalize.py",
    "underthesea.pipeline.text_normalize.token_normalize":
        "underthesea/pipeline/text_normalize/token_normalize.py",
    "underthesea.pipeline.word_tokenize.regex_tokenize":
        "underthesea/pipeline/word_tokenize/regex_tokenize.py",
    "underthesea.pipeline.word_tokenize": "underthesea/pipeline/word_tokenize/__init__.py",
    "underthesea.models.fast_crf_sequence_tagger": "underthesea/models/fast_crf_sequence_tagger.py",
}
_LABELS = {"B-W", "I-W"}
_TEMPLATE = re.compile(r"T\[(-?\d+)(?:,(-?\d+))?\](?:\.(lower|isdigit|istitle|is_in_dict))?")
MAX_OFFSET = 2               # templates may look at most this far left or right


class UnsupportedModel(Exception):
    """The installed underthesea model is not one transforms.segment_crf can reproduce exactly."""


# -- model file -----------------------------------------------------------------------------

def _read_cqdb(buf: bytes, start: int, count: int) -> list[str]:
    """Names in id order, as underthesea_core's CRFsuite loader builds its index (first copy of
    a name keeps its id; empty slots are skipped)."""
    if buf[start:start + 4] != b"CQDB":
        raise UnsupportedModel("bad CQDB magic")
    _size, _flag, _order, bwd_size, bwd_offset = struct.unpack_from("<5I", buf, start + 4)
    n = min(count, bwd_size)
    offsets = struct.unpack_from(f"<{n}I", buf, start + bwd_offset)
    names: list[str] = []
    seen: set[str] = set()
    for off in offsets:
        if off == 0:
            continue
        _id, ksize = struct.unpack_from("<2I", buf, start + off)
        key = buf[start + off + 8:start + off + 8 + ksize].split(b"\0", 1)[0]
        try:
            name = key.decode("utf-8")
        except UnicodeDecodeError as e:          # Rust would decode lossily: not reproduced
            raise UnsupportedModel("attribute name is not UTF-8") from e
        if name not in seen:
            seen.add(name)
            names.append(name)
    return names


def _read_crfsuite(buf: bytes) -> tuple[list[str], list[str], np.ndarray, np.ndarray]:
    """(labels, attributes, state weights [n_attrs, n_labels], transitions [n_labels, n_labels])
    with underthesea_core's loading rules: a later record overrides an earlier one, a state
    weight with |w| <= 1e-10 counts as absent (0.0)."""
    if buf[:4] != b"lCRF":
        raise UnsupportedModel("not a CRFsuite model")
    (_size, _kind, _version, n_features, n_labels, n_attrs, off_features, off_labels, off_attrs,
     _off_lrefs, _off_arefs) = struct.unpack_from("<I4s9I", buf, 4)
    labels = _read_cqdb(buf, off_labels, n_labels)
    attrs = _read_cqdb(buf, off_attrs, n_attrs)
    if buf[off_features:off_features + 4] != b"FEAT":
        raise UnsupportedModel("bad FEAT magic")
    _chunk, n = struct.unpack_from("<2I", buf, off_features + 4)
    n = n or n_features
    rec = np.dtype([("type", "<u4"), ("src", "<u4"), ("dst", "<u4"), ("w", "<f8")])
    feats = np.frombuffer(buf, dtype=rec, count=n, offset=off_features + 12)
    L = len(labels)
    state = np.zeros((len(attrs), L), dtype=np.float64)
    trans = np.zeros((L, L), dtype=np.float64)
    for kind, table, rows in ((0, state, len(attrs)), (1, trans, L)):
        f = feats[feats["type"] == kind]
        keep = (f["src"] < rows) & (f["dst"] < L)
        f = f[keep]
        key = f["src"].astype(np.int64) * L + f["dst"]
        # last record of each (src, dst) wins
        _, last = np.unique(key[::-1], return_index=True)
        f = f[len(f) - 1 - last]
        w = f["w"].copy()
        if kind == 0:
            w[np.abs(w) <= 1e-10] = 0.0
        table[f["src"], f["dst"]] = w
    return labels, attrs, state, trans


class _InstalledFiles:
    """Files of the installed underthesea distribution by their path in it (its RECORD), read
    without importing the package."""

    def __init__(self) -> None:
        try:
            dist = importlib.metadata.distribution("underthesea")
        except importlib.metadata.PackageNotFoundError as e:
            raise UnsupportedModel("underthesea is not installed") from e
        if not dist.files:
            raise UnsupportedModel("underthesea has no file list (RECORD)")
        self._files = {f.as_posix(): f for f in dist.files}
        self._root = str(dist.locate_file(""))

    def location(self, path: str) -> str:
        """The file's path on this machine."""
        return str(self._get(path).locate())

    def data(self, path: str) -> bytes:
        """Bytes of a file given by its path in the distribution or on this machine."""
        if path.startswith(self._root):
            path = path[len(self._root):].replace("\\", "/").lstrip("/")
        return self._get(path).read_binary()

    def _get(self, path: str):
        f = self._files.get(path)
        if f is None:
            raise UnsupportedModel(f"{path} is not in the installed underthesea")
        return f


class _PlainUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        raise UnsupportedModel(f"pickle refers to {module}.{name}")


def _plain_pickle(data: bytes):
    """What joblib.load gives for a file that is a plain pickle of builtin containers and
    strings (underthesea's features.bin, dictionary.bin and tn_rules_*.bin are: joblib.dump
    of a list, a set, a dict). Anything else (a class, numpy arrays, joblib's compression) is
    refused, so joblib is never needed."""
    try:
        return _PlainUnpickler(io.BytesIO(data)).load()
    except UnsupportedModel:
        raise
    except Exception as e:
        raise UnsupportedModel(f"not a plain pickle ({e})") from e


class _PrivateUnderthesea:
    """underthesea's own word_tokenize, regex tokenizer and normalizers, executed from the
    installed source files into private module objects that are never put in sys.modules.

    `import underthesea` runs the package's __init__, which imports every pipeline (requests,
    joblib, the classifiers ...): about 60 MB and 0.9 s per worker process. Here only the
    modules in `_PRIVATE_FILES` run, each when first imported; their imports of each other are
    served from this object, `joblib.load` by `_plain_pickle` of the same file, every other
    import is the ordinary one. The package `underthesea.pipeline.text_normalize` is stood in
    for by the one name regex_tokenize takes from it, `token_normalize`, which the package's
    __init__ binds to the function of that name. An import of any other underthesea module
    raises UnsupportedModel. A later `import underthesea` elsewhere loads the real package as
    usual (its own copies of these modules)."""

    def __init__(self, files: _InstalledFiles) -> None:
        self._files = files
        self._mods: dict[str, object] = {}
        self._joblib = types.SimpleNamespace(load=lambda path: _plain_pickle(files.data(path)))
        self._builtins = dict(vars(builtins), __import__=self._import)

    def module(self, name: str):
        mod = self._mods.get(name)
        if mod is not None:
            return mod
        if name == "underthesea.pipeline.text_normalize":
            tn = self.module("underthesea.pipeline.text_normalize.token_normalize")
            mod = types.SimpleNamespace(token_normalize=tn.token_normalize)
        elif name in _PRIVATE_FILES:
            path = _PRIVATE_FILES[name]
            mod = types.ModuleType(name)
            mod.__dict__.update(
                __file__=self._files.location(path), __builtins__=self._builtins,
                __package__=name if path.endswith("/__init__.py") else name.rpartition(".")[0])
            source = self._files.data(path).decode("utf-8")
            try:
                exec(compile(source, mod.__file__, "exec"), mod.__dict__)
            except UnsupportedModel:
                raise
            except Exception as e:      # the installed source changed shape: not reproduced
                raise UnsupportedModel(f"{path} could not be run privately ({e!r})") from e
        else:
            raise UnsupportedModel(f"underthesea's word_tokenize imports {name}")
        self._mods[name] = mod
        return mod

    def _import(self, name, globals=None, locals=None, fromlist=(), level=0):
        if level:
            package = globals["__package__"].rsplit(".", level - 1)[0]
            name = f"{package}.{name}" if name else package
        if name == "joblib":
            return self._joblib
        if name.split(".")[0] == "underthesea":
            if not fromlist:
                raise UnsupportedModel(f"underthesea's word_tokenize imports {name} whole")
            return self.module(name)
        return builtins.__import__(name, globals, locals, fromlist, 0)

    def functions(self):
        """(normalize_characters_in_text, tokenize, word_tokenize), underthesea's own."""
        try:
            return (
                self.module("underthesea.pipeline.text_normalize.character_normalize")
                .normalize_characters_in_text,
                self.module("underthesea.pipeline.word_tokenize.regex_tokenize").tokenize,
                self.module("underthesea.pipeline.word_tokenize").word_tokenize,
            )
        except AttributeError as e:
            raise UnsupportedModel(f"underthesea's word_tokenize changed ({e})") from e


def load_installed() -> tuple:
    """(labels, attrs, state, trans, templates, dictionary, normalize, tokenize, word_tokenize):
    the arguments of segment_crf.CrfSegmenter, read from the installed underthesea without
    importing it."""
    core = importlib.metadata.version("underthesea_core")
    if core.split(".")[0] != "3":
        raise UnsupportedModel(f"underthesea_core {core} (supported: 3.x)")
    files = _InstalledFiles()
    templates = _plain_pickle(files.data(f"{_MODEL_DIR}/features.bin"))
    dictionary = _plain_pickle(files.data(f"{_MODEL_DIR}/dictionary.bin"))
    if not isinstance(templates, list) or not all(isinstance(t, str) for t in templates):
        raise UnsupportedModel("features.bin is not a list of templates")
    if not isinstance(dictionary, (set, frozenset)):
        raise UnsupportedModel("dictionary.bin is not a set")
    labels, attrs, state, trans = _read_crfsuite(files.data(f"{_MODEL_DIR}/models.bin"))
    if set(labels) != _LABELS or len(labels) != 2:
        raise UnsupportedModel(f"labels {labels}")
    normalize, tokenize, word_tokenize = _PrivateUnderthesea(files).functions()
    return labels, attrs, state, trans, templates, set(dictionary), normalize, tokenize, word_tokenize


def parse_templates(templates: list[str]) -> list[tuple[str, int, int, str | None]]:
    """(syntax, first offset, last offset, function) per template, in model order."""
    out = []
    for t in templates:
        m = _TEMPLATE.fullmatch(t)
        if not m:
            raise UnsupportedModel(f"template {t!r}")
        k1 = int(m[1])
        k2 = int(m[2]) if m[2] is not None else k1
        if m[2] is not None and not (k1 < k2 <= k1 + 2):
            raise UnsupportedModel(f"template {t!r}: span")
        if max(abs(k1), abs(k2)) > MAX_OFFSET:
            raise UnsupportedModel(f"template {t!r}: offset")
        out.append((t, k1, k2, m[3]))
    return out
