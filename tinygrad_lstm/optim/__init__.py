"""SGD, Adam, AdamW, RMSprop: PyTorch's update rules, parameter groups and state_dict layout.

Updates are in place on ``p.data`` (so references held elsewhere, e.g. a tape, see new values) and
never recorded on the tape.
"""

from __future__ import annotations

import copy
import math
import numbers
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np

from ..checks import is_torch_tensor, plain_array
from ..tape import enable_grad, guard
from ..tensor import Tensor, clear_grads
from ..versions import changed_in_place


class Optimizer:
    """The base of SGD, Adam, AdamW and RMSprop: ``param_groups`` (dicts of hyperparameters with their
    ``params``), ``state`` (per parameter: momentum buffers, moments, arrays of the parameter's dtype),
    ``zero_grad()``, ``step()``, ``state_dict()`` and ``load_state_dict()``, as PyTorch's."""

    decoupled = False  # AdamW shrinks p itself instead of adding weight_decay * p to the gradient

    def __init__(self, params: Iterable, defaults: dict[str, Any]) -> None:
        params = list(params)
        if not params:
            raise ValueError(f"{type(self).__name__}: got an empty parameter list")
        groups = params if isinstance(params[0], dict) else [{"params": params}]
        self.defaults = defaults
        self.param_groups: list[dict[str, Any]] = []
        self.state: dict[Tensor, dict[str, Any]] = {}
        seen: set[int] = set()
        for group in groups:
            group = {**defaults, **group, "params": list(group["params"])}
            for p in group["params"]:
                if not isinstance(p, Tensor) or not p.requires_grad:
                    raise TypeError(f"{type(self).__name__}: can only optimize tensors that require grad")
                if id(p) in seen:
                    raise ValueError(f"{type(self).__name__}: a parameter appears in more than one group")
                seen.add(id(p))
            self.param_groups.append(group)

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
            g = -p.grad.data if group["maximize"] else p.grad.data
            if group["weight_decay"] and not self.decoupled:
                g = g + group["weight_decay"] * p.data
            self._update(p.data, g, self.state.setdefault(p, {}), group)
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

    # ---- state_dict, in PyTorch's layout: parameters named by their position -----------------------
    def state_dict(self) -> dict[str, Any]:
        """``{'state': ..., 'param_groups': ...}`` in PyTorch's layout, parameters named by position."""
        index: dict[int, int] = {}  # id(parameter) -> its position
        groups = []
        for group in self.param_groups:
            packed = {k: v for k, v in group.items() if k != "params"}
            packed["params"] = []
            for p in group["params"]:
                index.setdefault(id(p), len(index))
                packed["params"].append(index[id(p)])
            groups.append(packed)
        state = {
            index[id(p)]: {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in s.items()}
            for p, s in self.state.items()
        }
        return {"state": state, "param_groups": groups}

    # What a parameter's state holds once a step has made it: (arrays of the parameter's shape, arrays
    # that may also be None, whether it counts steps). A loaded state is checked against it.
    def _state_layout(self, group: dict) -> tuple[tuple[str, ...], tuple[str, ...], bool]:
        return (), (), False

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
            self._check_group(new_groups[-1], f"{op}: param_groups[{i}]")
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

    def _check_group(self, group: dict, where: str) -> None:
        """The hyperparameters a step reads are of the kind the constructor made (a str lr would
        otherwise fail only in step())."""
        for key, default in self.defaults.items():
            value: Any = group.get(key)
            if isinstance(default, bool):
                ok = isinstance(value, (bool, np.bool_))
            elif isinstance(default, tuple):
                ok = isinstance(value, (tuple, list)) and len(value) == len(default)
                ok = ok and all(_is_number(v) for v in value)
                if ok:
                    group[key] = tuple(value)
            else:
                ok = _is_number(value)
            if not ok:
                raise ValueError(
                    f"{where}[{key!r}] is {value!r}, not of the kind {type(self).__name__} takes (like {default!r}); "
                    f"nothing was changed"
                )

    def _check_state(self, entry: dict, p: Tensor, group: dict, where: str) -> None:
        """A non-empty state must hold what the step reads, each array of the parameter's shape."""
        if not entry:
            return
        arrays, optional, counted = self._state_layout(group)
        problem = None
        for key in arrays + optional:
            value = entry.get(key)
            if value is None and key in optional:
                continue
            if not isinstance(value, np.ndarray) or value.shape != p.shape:
                got = f"shape {value.shape}" if isinstance(value, np.ndarray) else repr(value)
                got = got if key in entry else "nothing (the key is missing)"
                problem = f"[{key!r}] must be an array of the parameter's shape {p.shape}, got {got}"
                break
        if problem is None and counted:
            step: Any = entry.get("step")
            if not _is_number(step) or step < 0 or not float(step).is_integer():
                problem = f"['step'] must be a whole number >= 0, got {step!r}"
            else:
                entry["step"] = int(step)
        if problem:
            raise ValueError(f"{where}{problem}; nothing was changed")


def _is_number(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))


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


class SGD(Optimizer):
    """Stochastic gradient descent with optional (Nesterov) momentum and weight decay."""

    def __init__(
        self,
        params,
        lr: float = 1e-3,
        momentum: float = 0.0,
        dampening: float = 0.0,
        weight_decay: float = 0.0,
        nesterov: bool = False,
        maximize: bool = False,
    ) -> None:
        if lr < 0 or momentum < 0 or weight_decay < 0:
            raise ValueError(f"SGD: invalid lr={lr}, momentum={momentum} or weight_decay={weight_decay}")
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("SGD: Nesterov momentum needs momentum > 0 and dampening = 0")
        super().__init__(
            params,
            dict(
                lr=lr,
                momentum=momentum,
                dampening=dampening,
                weight_decay=weight_decay,
                nesterov=nesterov,
                maximize=maximize,
            ),
        )

    def _state_layout(self, group):
        return (), ("momentum_buffer",), False

    def _update(self, p, g, state, group):
        momentum = group["momentum"]
        if momentum:
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = state["momentum_buffer"] = np.array(g, copy=True)
            else:
                buf *= momentum
                buf += (1 - group["dampening"]) * g
            g = g + momentum * buf if group["nesterov"] else buf
        p -= group["lr"] * g


class Adam(Optimizer):
    """Adam (Kingma & Ba 2015), with PyTorch's bias correction and optional AMSGrad."""

    def __init__(
        self,
        params,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        amsgrad: bool = False,
        maximize: bool = False,
    ) -> None:
        if lr < 0 or eps < 0 or not (0 <= betas[0] < 1 and 0 <= betas[1] < 1) or weight_decay < 0:
            raise ValueError(
                f"{type(self).__name__}: invalid lr={lr}, betas={betas}, eps={eps} or weight_decay={weight_decay}"
            )
        super().__init__(
            params,
            dict(
                lr=lr,
                betas=tuple(betas),
                eps=eps,
                weight_decay=weight_decay,
                amsgrad=amsgrad,
                maximize=maximize,
            ),
        )

    def _state_layout(self, group):
        arrays = ("exp_avg", "exp_avg_sq") + (("max_exp_avg_sq",) if group["amsgrad"] else ())
        return arrays, (), True

    def _update(self, p, g, state, group):
        lr, (beta1, beta2), eps, wd = group["lr"], group["betas"], group["eps"], group["weight_decay"]
        if wd and self.decoupled:
            p *= 1 - lr * wd
        if not state:
            state["step"] = 0
            state["exp_avg"] = np.zeros_like(p)
            state["exp_avg_sq"] = np.zeros_like(p)
            if group["amsgrad"]:
                state["max_exp_avg_sq"] = np.zeros_like(p)
        state["step"] += 1
        t = state["step"]
        m, v = state["exp_avg"], state["exp_avg_sq"]
        m *= beta1
        m += (1 - beta1) * g
        v *= beta2
        v += (1 - beta2) * g * g
        bias1, bias2 = 1 - beta1**t, 1 - beta2**t
        if group["amsgrad"]:
            np.maximum(state["max_exp_avg_sq"], v, out=state["max_exp_avg_sq"])
            v = state["max_exp_avg_sq"]
        denom = np.sqrt(v) / math.sqrt(bias2) + eps
        p -= (lr / bias1) * (m / denom)


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter 2019): ``p *= 1 - lr * weight_decay``."""

    decoupled = True

    def __init__(
        self,
        params,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        amsgrad: bool = False,
        maximize: bool = False,
    ) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize)


class RMSprop(Optimizer):
    """RMSprop (Hinton), PyTorch's form: optional centring and momentum."""

    def __init__(
        self,
        params,
        lr: float = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        momentum: float = 0.0,
        centered: bool = False,
        maximize: bool = False,
    ) -> None:
        if lr < 0 or eps < 0 or alpha < 0 or momentum < 0 or weight_decay < 0:
            raise ValueError(
                f"RMSprop: invalid lr={lr}, alpha={alpha}, eps={eps}, momentum={momentum} "
                f"or weight_decay={weight_decay}"
            )
        super().__init__(
            params,
            dict(
                lr=lr,
                alpha=alpha,
                eps=eps,
                weight_decay=weight_decay,
                momentum=momentum,
                centered=centered,
                maximize=maximize,
            ),
        )

    def _state_layout(self, group):
        arrays = ("square_avg",) + (("momentum_buffer",) if group["momentum"] > 0 else ())
        return arrays + (("grad_avg",) if group["centered"] else ()), (), True

    def _update(self, p, g, state, group):
        alpha, eps, lr = group["alpha"], group["eps"], group["lr"]
        if not state:
            state["step"] = 0
            state["square_avg"] = np.zeros_like(p)
            if group["momentum"] > 0:
                state["momentum_buffer"] = np.zeros_like(p)
            if group["centered"]:
                state["grad_avg"] = np.zeros_like(p)
        state["step"] += 1
        sq = state["square_avg"]
        sq *= alpha
        sq += (1 - alpha) * g * g
        if group["centered"]:
            ga = state["grad_avg"]
            ga *= alpha
            ga += (1 - alpha) * g
            avg = np.sqrt(sq - ga * ga) + eps
        else:
            avg = np.sqrt(sq) + eps
        if group["momentum"] > 0:
            buf = state["momentum_buffer"]
            buf *= group["momentum"]
            buf += g / avg
            p -= lr * buf
        else:
            p -= lr * (g / avg)


from . import lr_scheduler as lr_scheduler  # noqa: E402  (schedules need Optimizer, defined above)
