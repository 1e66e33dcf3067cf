"""``tl.save``/``tl.load``: state dicts to ``.npz`` without pickle, written atomically.

Arrays go into the archive as they are; the nesting around them (dicts with str or int keys, lists,
tuples, numbers, strings, booleans, None) is described by a JSON entry, so a module's or an
optimizer's state_dict round-trips and nothing is ever unpickled. A Tensor loads as a Tensor (with
its requires_grad), an array as an array.
"""

from __future__ import annotations

import json
import os
import secrets
import stat
import zipfile
from typing import IO, Any

import numpy as np

from . import devices
from .checks import is_torch_tensor, plain_array
from .tensor import Tensor

_STRUCTURE = "__structure__"


_MAX_DEPTH = 100  # nesting a state_dict never needs; deeper would overflow Python's recursion, or JSON's


def _path(path: str) -> str:
    return path or "the top level"


def _encode(obj: Any, arrays: dict[str, np.ndarray], path: str = "", open_ids: tuple[int, ...] = ()) -> Any:
    """The JSON description of ``obj``, its arrays added to ``arrays``; errors name the key path."""
    if isinstance(obj, Tensor):  # loads as a Tensor again, as torch.load gives back a tensor
        described = _encode(obj.data, arrays, path, open_ids)
        return {"tensor": described["array"], "requires_grad": obj.requires_grad}
    if is_torch_tensor(obj):
        obj = plain_array(obj, f"save: {_path(path)}")
    if isinstance(obj, np.ndarray):
        if obj.dtype.kind not in "biufc":
            raise TypeError(
                f"save: the array at {_path(path)} has dtype {obj.dtype}, which cannot be saved without pickle"
            )
        key = f"a{len(arrays)}"
        arrays[key] = obj
        return {"array": key}
    if isinstance(obj, np.generic):
        obj = obj.item()
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return {"value": obj}
    if not isinstance(obj, (dict, list, tuple)):
        raise TypeError(f"save: cannot save the {type(obj).__name__} at {_path(path)} without pickle")
    if id(obj) in open_ids:
        raise ValueError(
            f"save: the {type(obj).__name__} at {_path(path)} is also one that holds it (a reference cycle); "
            f"only trees can be saved"
        )
    if len(open_ids) >= _MAX_DEPTH:
        raise ValueError(f"save: nesting deeper than {_MAX_DEPTH} levels at {_path(path)}")
    inside = (*open_ids, id(obj))
    if isinstance(obj, dict):
        for k in obj:
            if not isinstance(k, (str, int)):
                raise TypeError(f"save: dict keys must be str or int, got {type(k).__name__} {k!r} at {_path(path)}")
        return {"dict": [[k, _encode(v, arrays, f"{path}[{k!r}]", inside)] for k, v in obj.items()]}
    return {type(obj).__name__: [_encode(v, arrays, f"{path}[{i}]", inside) for i, v in enumerate(obj)]}


class ObjectArrayError(ValueError):
    """An archive entry that only pickle could read: refused with its own message, not as 'damaged'."""


def _array(archive, key: str, where: str, file: str) -> np.ndarray:
    try:
        return archive[key]
    except ValueError as e:
        if "allow_pickle" not in str(e):
            raise
        raise ObjectArrayError(
            f"load: {file}: the entry at {where} is an object array, which only pickle could read; "
            f"tl.load never unpickles"
        ) from None


def _decode(node: Any, archive, file: str, path: str = "") -> Any:
    if "array" in node:
        return _array(archive, node["array"], _path(path), file)
    if "tensor" in node:
        return Tensor(_array(archive, node["tensor"], _path(path), file), requires_grad=bool(node["requires_grad"]))
    if "value" in node:
        return node["value"]
    if "dict" in node:
        return {k: _decode(v, archive, file, f"{path}[{k!r}]") for k, v in node["dict"]}
    if "list" in node:
        return [_decode(v, archive, file, f"{path}[{i}]") for i, v in enumerate(node["list"])]
    if "tuple" in node:
        return tuple(_decode(v, archive, file, f"{path}[{i}]") for i, v in enumerate(node["tuple"]))
    raise ValueError(f"load: unknown entry {sorted(node)} in the archive's structure")


def save(obj: Any, path: str | os.PathLike | IO[bytes]) -> None:
    """Write ``obj`` (e.g. ``model.state_dict()``) to ``path`` as ``.npz`` (the name is yours: PyTorch's
    ``model.pth`` works too), or into an open binary file such as ``io.BytesIO``.

    The file is written under a temporary name and renamed over ``path`` only when complete, so a
    failure (a bad value, a full disk) leaves any old file as it was. A new file gets the mode a plain
    ``open(path, "wb")`` would give it (the umask applies); a replaced file keeps its mode.

    >>> import os, tempfile, numpy as np, tinygrad_lstm as tl
    >>> path = os.path.join(tempfile.mkdtemp(), "w.npz")
    >>> tl.save({"w": np.eye(2)}, path)
    >>> tl.load(path)["w"].tolist()
    [[1.0, 0.0], [0.0, 1.0]]
    """
    arrays: dict[str, Any] = {}  # (Any: np.savez's stubs would match an array with its allow_pickle=)
    structure = json.dumps(_encode(obj, arrays))  # fails before any file is touched
    described: dict[str, Any] = {_STRUCTURE: np.frombuffer(structure.encode(), dtype=np.uint8)}
    if hasattr(path, "write"):  # a file the caller opened (PyTorch's save takes one too)
        np.savez(path, **arrays, **described)
        return
    path = os.fspath(path)
    folder, base = os.path.split(os.path.abspath(path))
    tmp = os.path.join(folder, f".{base}.{secrets.token_hex(6)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)  # 0o666 less the umask, as open() gives
    try:
        if os.path.exists(path):
            os.chmod(tmp, stat.S_IMODE(os.stat(path).st_mode))
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays, **described)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def load(
    path: str | os.PathLike | IO[bytes],
    map_location: Any = None,
    *,
    weights_only: bool = True,
    mmap: bool | None = None,
) -> Any:
    """Read what :func:`save` wrote (never unpickles anything); a plain ``np.savez`` archive of
    arrays loads as a dict. Anything else raises one ``ValueError`` naming the file and the problem.

    PyTorch's arguments are taken as PyTorch's callers pass them: ``weights_only`` (either value: this
    never unpickles, which is what ``weights_only=True`` asks), ``map_location`` (a device, or a dict
    of devices, which must be the CPU: every array loads there) and ``mmap`` (the arrays are read
    into memory either way)."""
    _check_map_location(map_location)
    source = path if hasattr(path, "read") else os.fspath(path)
    name = source if isinstance(source, str) else f"the open file {getattr(source, 'name', type(source).__name__)}"
    try:
        archive = np.load(source, allow_pickle=False)
    except FileNotFoundError:
        raise
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as e:
        raise ValueError(f"load: {name} is not an .npz archive written by tl.save ({_problem(source, e)})") from e
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise ValueError(f"load: {name} holds a single .npy array, not an .npz archive written by tl.save")
    try:
        with archive:
            if _STRUCTURE not in archive.files:
                return {k: _array(archive, k, repr(k), name) for k in archive.files}
            structure = json.loads(archive[_STRUCTURE].tobytes().decode())
            return _decode(structure, archive, name)
    except ObjectArrayError:
        raise
    except (OSError, ValueError, EOFError, KeyError, TypeError, zipfile.BadZipFile, UnicodeDecodeError) as e:
        raise ValueError(f"load: {name} is damaged or was not written by tl.save ({_problem(source, e)})") from e


def _check_map_location(where: Any) -> None:
    if callable(where) and not isinstance(where, devices.device):
        raise TypeError(
            "load: map_location as a function of storages has no meaning here (there are no storages; every "
            "array loads on the CPU); leave it out"
        )
    for target in where.values() if isinstance(where, dict) else [where]:
        devices.check("load", target)


def _problem(path: Any, error: Exception) -> str:
    if isinstance(path, str) and (os.path.getsize(path) if os.path.exists(path) else 0) == 0:
        return "the file is empty"
    if "pickle" in str(error):  # NumPy's guess for bytes it does not recognise; tl.load never unpickles
        return "its bytes are not NumPy data"
    return f"{type(error).__name__}: {error}"
