"""The base of every optimizer: parameter groups, the checked step, and state_dict in PyTorch's layout.

A subclass gives its update rule (``_update``) and what a parameter's state holds (``_state_layout``);
this class does the rest as PyTorch's ``torch.optim.Optimizer`` does. Updates are in place on
``p.data`` (so references held elsewhere, e.g. a tape, see new values) and never recorded on the tape.
"""

from __future__ import annotations

import copy
import numbers
from collections.abc import Callable, Iterable, Mapping
from typing import Any, NamedTuple

import numpy as np

from ..checks import is_torch_tensor, plain_array
from ..tape import enable_grad, guard
from ..tensor import Tensor, clear_grads
from ..versions import changed_in_place


class Layout(NamedTuple):
    """What a parameter's state holds once a step has made it; a loaded state is checked against it."""

    arrays: tuple[str, ...] = ()  # arrays of the parameter's shape
    optional: tuple[str, ...] = ()  # such arrays, or None
    counted: bool = False  # a whole-number 'step'
    numbers: tuple[str, ...] = ()  # plain numbers (NAdam's running product of momenta)


def _is_number(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))


def _is_flag(value: Any) -> bool:
    return isinstance(value, (bool, np.bool_))


# PyTorch's constraints on each hyperparameter, by name: (what it must be, the test). Checked when an
# optimizer is made, a group added and a state loaded, so a bad value fails there, not in step().
_AT_LEAST_0 = ("a number >= 0", lambda v: _is_number(v) and v >= 0)
_RULES: dict[str, tuple[str, Callable[[Any], bool]]] = {
    "lr": _AT_LEAST_0,
    "eps": _AT_LEAST_0,
    "weight_decay": _AT_LEAST_0,
    "momentum": _AT_LEAST_0,
    "alpha": _AT_LEAST_0,
    "lr_decay": _AT_LEAST_0,
    "initial_accumulator_value": _AT_LEAST_0,
    "momentum_decay": _AT_LEAST_0,
    "dampening": ("a number", _is_number),
    "rho": ("a number in [0, 1]", lambda v: _is_number(v) and 0 <= v <= 1),
    "betas": (
        "a pair of numbers in [0, 1)",
        lambda v: isinstance(v, (tuple, list)) and len(v) == 2 and all(_is_number(b) and 0 <= b < 1 for b in v),
    ),
    # How PyTorch runs a step (several tensors per kernel, one fused kernel, CUDA graphs), not what it
    # computes: taken and kept in the groups as PyTorch keeps them; the step here is the same either way.
    "foreach": ("None, True or False", lambda v: v is None or _is_flag(v)),
    "fused": ("None, True or False", lambda v: v is None or _is_flag(v)),
    "capturable": ("True or False", _is_flag),
    # A differentiable step would record the update for a gradient through it; steps here are never
    # recorded, so True would silently give no such gradient.
    "differentiable": ("False: steps are never recorded on the tape", lambda v: _is_flag(v) and not v),
}
for _flag in ("maximize", "nesterov", "amsgrad", "centered", "decoupled_weight_decay"):
    _RULES[_flag] = ("True or False", _is_flag)


class Optimizer:
    """The base of every optimizer: ``param_groups`` (dicts of hyperparameters with their ``params``),
    ``state`` (per parameter: momentum buffers, moments, arrays of the parameter's dtype),
    ``zero_grad()``, ``step()``, ``add_param_group()``, ``state_dict()`` and ``load_state_dict()``,
    as PyTorch's."""

    # an optimizer's own constraints where they differ from _RULES' (ASGD's alpha is any number)
    _rules: dict[str, tuple[str, Callable[[Any], bool]]] = {}
    # False where the update decays the parameter itself (Adafactor: after reading its norm)
    _decay_in_step = True

    def __init__(self, params: Iterable, defaults: dict[str, Any]) -> None:
        name = type(self).__name__
        if isinstance(params, (Tensor, dict)) or is_torch_tensor(params):
            raise TypeError(
                f"{name}: params must be an iterable of Tensors or of dicts (parameter groups), got a "
                f"{type(params).__name__}; write [w] for one tensor"
            )
        params = list(params)
        if not params:
            raise ValueError(f"{name}: got an empty parameter list")
        if "betas" in defaults:
            defaults["betas"] = tuple(defaults["betas"]) if isinstance(defaults["betas"], list) else defaults["betas"]
        self.defaults = defaults
        self._check_group(defaults, name, keyed=False)
        if defaults.get("fused") and defaults.get("foreach"):
            raise ValueError(f"{name}: fused=True and foreach=True cannot both be asked for (PyTorch refuses it too)")
        self.param_groups: list[dict[str, Any]] = []
        self.state: dict[Tensor, dict[str, Any]] = {}
        groups = params if isinstance(params[0], dict) else [{"params": params}]
        for i, group in enumerate(groups):
            self._add_group(group, name, f"{name}: param_groups[{i}]")

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group (``{"params": [...], "lr": ...}``; options it does not give come from the
        defaults), as PyTorch's. Checked first: a bad group adds nothing."""
        op = f"{type(self).__name__}.add_param_group"
        self._add_group(param_group, op, f"{op}: group")

    def _add_group(self, param_group: Any, op: str, where: str) -> None:
        if not isinstance(param_group, Mapping) or "params" not in param_group:
            raise TypeError(f"{op}: a parameter group is a dict with 'params', got {type(param_group).__name__}")
        params = param_group["params"]
        params = [params] if isinstance(params, Tensor) else list(params)
        group = {**self.defaults, **param_group}
        named = bool(params) and all(isinstance(p, tuple) and len(p) == 2 and isinstance(p[0], str) for p in params)
        if named:
            group["param_names"] = [n for n, _ in params]  # model.named_parameters(), as PyTorch 2.6+ takes
            params = [p for _, p in params]
        if self.param_groups and named != ("param_names" in self.param_groups[0]):
            raise ValueError(f"{op}: every group must name its parameters, or none (as in PyTorch)")
        group["params"] = params
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        for p in params:
            if not isinstance(p, Tensor) or not p.requires_grad:
                raise TypeError(f"{op}: can only optimize Tensors that require grad, got {type(p).__name__}")
            if id(p) in seen:
                raise ValueError(f"{op}: a parameter appears in more than one group (or twice in one)")
            seen.add(id(p))
        if isinstance(group.get("betas"), list):
            group["betas"] = tuple(group["betas"])
        self._check_group(group, where, keyed=True)
        self.param_groups.append(group)

    def __repr__(self) -> str:
        """Each group's options, sorted by name, in PyTorch's layout (print(opt) reads the same)."""
        blocks = [
            f"Parameter Group {i}\n" + "".join(f"    {k}: {group[k]}\n" for k in sorted(group) if k != "params")
            for i, group in enumerate(self.param_groups)
        ]
        return f"{type(self).__name__} (\n" + "\n".join(blocks) + ")"

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Clear the ``.grad`` of every parameter (None, or zeros with ``set_to_none=False``)."""
        guard("side effect", "optimizer.zero_grad()")
        clear_grads((p for group in self.param_groups for p in group["params"]), set_to_none)

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Update every parameter that has a ``.grad``, in place (under no_grad; PyTorch's update rules).
        Every parameter is checked before the first one changes. ``closure``, as PyTorch's: called first
        (with grad enabled) to recompute the loss and gradients; its loss is returned."""
        guard("side effect", "optimizer.step()")
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        work = [(p, group) for group in self.param_groups for p in group["params"] if p.grad is not None]
        for p, _ in work:  # every parameter is checked before the first one changes
            self._check_updatable(p)
        for p, group in work:
            g = -p.grad.data if group.get("maximize", False) else p.grad.data  # (Muon has no maximize)
            # a group's weight_decay where the optimizer has none (Rprop) is kept and ignored, as PyTorch's
            decay = group["weight_decay"] if self._decay_in_step and "weight_decay" in self.defaults else 0
            if decay and group.get("decoupled_weight_decay", False):
                p.data *= 1 - group["lr"] * decay  # AdamW's: p shrinks, the moments never see the decay
            elif decay:
                g = g + decay * p.data  # L2: the decay joins the gradient
            state = self.state.setdefault(p, {})
            if not state:
                state.update(self._fresh_state(p.data, group))
            self._update(p.data, g, state, group)
            if not state:  # SGD without momentum keeps nothing, and lists nothing, as PyTorch's
                del self.state[p]
            changed_in_place(p.data)  # a graph recorded before the step refuses backward
        return loss

    def _describe(self, p: Tensor) -> str:
        """A parameter as state_dict numbers it (its position over all groups), with its name and shape."""
        everyone = [q for group in self.param_groups for q in group["params"]]
        index = next(i for i, q in enumerate(everyone) if q is p)  # by identity: == on Tensors is elementwise
        name = f" ({p.name!r})" if p.name else ""
        return f"parameter {index}{name} of shape {p.shape}"

    def _check_updatable(self, p: Tensor) -> None:
        """Refuse what would fail half-way through a step: a read-only array, a gradient of another shape."""
        problem = None
        grad = p.grad
        assert grad is not None, "step() updates only parameters that have a gradient"
        if not p.data.flags.writeable:
            problem = "its array is read-only (not writeable)"
        elif grad.shape != p.shape:
            problem = f"its gradient has shape {grad.shape}"
        else:
            for key, value in self.state.get(p, {}).items():
                if isinstance(value, np.ndarray) and not value.flags.writeable:
                    problem = f"its state {key!r} is read-only"
        if problem:
            raise ValueError(f"{type(self).__name__}.step: {self._describe(p)}: {problem}; nothing was updated")

    def _update(self, p: np.ndarray, g: np.ndarray, state: dict, group: dict) -> None:
        """Update ``p`` in place from ``g``, the gradient already negated for ``maximize`` and with
        (coupled) weight decay added."""
        raise NotImplementedError

    def _state_layout(self, group: dict) -> Layout:
        """What a parameter's state holds once a step has made it, under ``group``'s options."""
        return Layout()

    def _state_shape(self, key: str, shape: tuple[int, ...]) -> tuple[int, ...]:
        """The shape of the state array ``key`` of a parameter of ``shape``: the same, bar Adafactor's
        factored variances."""
        return shape

    def _fresh_state(self, p: np.ndarray, group: dict) -> dict[str, Any]:
        """A parameter's state before its first step, in the layout's order (PyTorch's): the step count
        and the numbers at 0, the arrays zeros of the parameter's shape (optional ones the step makes)."""
        layout = self._state_layout(group)
        state: dict[str, Any] = {"step": 0} if layout.counted else {}
        state.update(dict.fromkeys(layout.numbers, 0.0))
        state.update((key, np.zeros_like(p)) for key in layout.arrays)
        return state

    # ---- state_dict, in PyTorch's layout: parameters named by their position -----------------------
    def state_dict(self) -> dict[str, Any]:
        """``{'state': ..., 'param_groups': ...}`` in PyTorch's layout, parameters named by position."""
        index: dict[int, int] = {}  # id(parameter) -> its position
        groups = []
        for group in self.param_groups:
            packed = {k: copy.deepcopy(v) for k, v in group.items() if k != "params"}
            packed["params"] = []
            for p in group["params"]:
                index.setdefault(id(p), len(index))
                packed["params"].append(index[id(p)])
            groups.append(packed)
        state = {index[id(p)]: {k: _copied(v) for k, v in s.items()} for p, s in self.state.items()}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Load what :meth:`state_dict` gave (or PyTorch's optimizer's, tensors included). Every group,
        hyperparameter and state entry is checked before anything changes: a wrong one raises here,
        not later in ``step()``."""
        op = f"{type(self).__name__}.load_state_dict"
        if not isinstance(state_dict, Mapping) or not {"state", "param_groups"} <= set(state_dict):
            raise ValueError(f"{op}: expected a dict with 'state' and 'param_groups', got {type(state_dict).__name__}")
        groups = state_dict["param_groups"]
        if len(groups) != len(self.param_groups):
            raise ValueError(
                f"{op}: {len(groups)} parameter groups given, {len(self.param_groups)} in the optimizer; nothing "
                f"was changed"
            )
        params: list[tuple[int, Tensor, int]] = []  # (saved position, parameter, group)
        new_groups = []
        for i, (saved, group) in enumerate(zip(groups, self.param_groups)):
            if len(saved["params"]) != len(group["params"]):
                raise ValueError(
                    f"{op}: param_groups[{i}] has {len(saved['params'])} parameters, the optimizer's "
                    f"{len(group['params'])}; nothing was changed"
                )
            params.extend((key, p, i) for key, p in zip(saved["params"], group["params"]))
            loaded = {k: _plain(v, f"{op}: param_groups[{i}][{k!r}]") for k, v in saved.items() if k != "params"}
            new_groups.append({**group, **copy.deepcopy(loaded), "params": group["params"]})
            if isinstance(new_groups[-1].get("betas"), list):
                new_groups[-1]["betas"] = tuple(new_groups[-1]["betas"])
            self._check_group(new_groups[-1], f"{op}: param_groups[{i}]", keyed=True)
        saved_state = state_dict["state"]
        new_state = {}
        for key, p, i in params:
            saved = saved_state.get(key, saved_state.get(str(key)))
            if saved is None:
                continue
            where = f"{op}: state[{key}]"
            if not isinstance(saved, Mapping):
                raise ValueError(f"{where} must be a dict, got {type(saved).__name__}; nothing was changed")
            entry = {k: _plain(v, f"{where}[{k!r}]", lists=True) for k, v in saved.items()}
            self._check_state(entry, p, new_groups[i], where)
            new_state[p] = {k: v.astype(p.dtype) if isinstance(v, np.ndarray) else v for k, v in entry.items()}
        for group, loaded in zip(self.param_groups, new_groups):
            group.update(loaded)
        self.state = new_state

    def _check_group(self, group: dict, where: str, keyed: bool) -> None:
        """Each hyperparameter a step reads is of the kind and in the range PyTorch's takes (a str lr
        would otherwise fail only in step(), a negative one train backwards)."""
        name = type(self).__name__
        for key in self.defaults:
            label = f"{where}[{key!r}]" if keyed else f"{where}: {key}"
            value: Any = group.get(key)
            what, ok = self._rules.get(key) or _RULES.get(key, ("a number", _is_number))
            if not ok(value):
                end = "; nothing was changed" if keyed else ""
                raise ValueError(f"{label} is {value!r}, not of the kind {name} takes ({what}){end}")

    def _check_state(self, entry: dict, p: Tensor, group: dict, where: str) -> None:
        """A non-empty state must hold what the step reads, each array of the parameter's shape, and
        nothing else (a misspelt key would otherwise be ignored)."""
        if not entry:
            return
        layout = self._state_layout(group)
        known = set(layout.arrays + layout.optional + layout.numbers) | ({"step"} if layout.counted else set())
        problem = None
        unknown = sorted(set(entry) - known, key=str)
        if unknown:
            problem = f" has keys {type(self).__name__} does not keep: {unknown} (it keeps {sorted(known)})"
        for key in layout.arrays + layout.optional:
            value = entry.get(key)
            if problem or (value is None and key in layout.optional):
                continue
            shape = self._state_shape(key, p.shape)
            if not isinstance(value, np.ndarray) or value.shape != shape:
                got = f"shape {value.shape}" if isinstance(value, np.ndarray) else repr(value)
                got = got if key in entry else "nothing (the key is missing)"
                whose = "the parameter's shape" if shape == p.shape else "shape"
                problem = f"[{key!r}] must be an array of {whose} {shape}, got {got}"
        for key in layout.numbers:
            if problem is None and not _is_number(entry.get(key)):
                problem = f"[{key!r}] must be a number, got {entry.get(key, 'nothing (the key is missing)')!r}"
        if problem is None and layout.counted:
            step: Any = entry.get("step")
            if not _is_number(step) or step < 0 or not float(step).is_integer():
                problem = f"['step'] must be a whole number >= 0, got {step!r}"
            else:
                entry["step"] = int(step)
        if problem:
            raise ValueError(f"{where}{problem}; nothing was changed")


def _lerp(start: np.ndarray, end: np.ndarray, weight: float) -> np.ndarray:
    """``start + weight * (end - start)``, as torch.lerp computes it (from the nearer end)."""
    if abs(weight) < 0.5:
        return start + weight * (end - start)
    return end - (end - start) * (1 - weight)


def _copied(value: Any) -> Any:
    """A state value as state_dict gives it: arrays copied, lists of them too (LBFGS's history)."""
    if isinstance(value, np.ndarray):
        return value.copy()
    return [_copied(v) for v in value] if isinstance(value, list) else value


def _plain(value: Any, where: str, lists: bool = False) -> Any:
    """A loaded value as the optimizer keeps it: arrays for arrays and PyTorch tensors (0-d ones, such
    as PyTorch's step counts, as Python numbers); numbers, strings, None and containers as they are."""
    if isinstance(value, (np.ndarray, np.generic)) or is_torch_tensor(value):
        array = plain_array(value, where)
        if array.dtype.kind not in "biuf":
            raise ValueError(f"{where}: an array of dtype {array.dtype} is not numeric; nothing was changed")
        return array.item() if array.ndim == 0 else array
    if lists and isinstance(value, list) and value and not isinstance(value[0], (dict, str)):
        array = plain_array(value, where)  # a list of numbers is an array, as np.asarray would read it
        return array if array.dtype.kind in "biuf" else value
    return value
