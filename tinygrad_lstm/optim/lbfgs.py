"""L-BFGS (Nocedal 1980; Liu & Nocedal 1989), PyTorch's form: a quasi-Newton direction from the last
``history_size`` steps and gradient changes, a fixed step or a strong-Wolfe line search, several
iterations (and loss evaluations) per ``step(closure)``."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from ..tape import enable_grad, guard
from ..tensor import Tensor
from ..versions import changed_in_place
from .optimizer import Optimizer, _is_flag, _is_number

_KEYS = ("func_evals", "n_iter", "al", "d", "t", "old_dirs", "old_stps", "ro", "H_diag", "prev_flat_grad", "prev_loss")


def _cubic_interpolate(x1, f1, g1, x2, f2, g2, bounds=None):
    """The minimiser of the cubic through (x1, f1) and (x2, f2) with slopes g1 and g2, kept within
    ``bounds`` (the two points if None); their midpoint where the cubic has no minimum."""
    low, high = bounds if bounds is not None else ((x1, x2) if x1 <= x2 else (x2, x1))
    d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2)
    d2_square = d1**2 - g1 * g2
    if d2_square < 0:
        return (low + high) / 2.0
    d2 = np.sqrt(d2_square)
    if x1 <= x2:
        min_pos = x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
    else:
        min_pos = x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2))
    return min(max(min_pos, low), high)


def _strong_wolfe(obj_func, t, d, f, g, gtd, c1=1e-4, c2=0.9, tolerance_change=1e-9, max_ls=25):
    """A step ``t`` along ``d`` that meets the strong Wolfe conditions (sufficient decrease ``c1``,
    curvature ``c2``): bracket such a step, then zoom in by cubic interpolation; PyTorch's (from
    torch7's lswolfe.lua). Returns the loss and gradient there, the step, and the evaluations made."""
    d_norm = np.abs(d).max()
    f_new, g_new = obj_func(t, d)
    evals = 1
    gtd_new = g_new.dot(d)
    t_prev, f_prev, g_prev, gtd_prev = 0, f, g, gtd
    done = False
    ls_iter = 0
    bracket: list = []
    bracket_f: list = []
    bracket_g: list = []
    bracket_gtd: list = []
    while ls_iter < max_ls:
        no_decrease = f_new > (f + c1 * t * gtd) or (ls_iter > 1 and f_new >= f_prev)
        if not no_decrease and abs(gtd_new) <= -c2 * gtd:  # both Wolfe conditions hold: this step
            bracket, bracket_f, bracket_g, done = [t], [f_new], [g_new], True
            break
        if no_decrease or gtd_new >= 0:  # a minimum lies between the last two trials
            bracket, bracket_f, bracket_g, bracket_gtd = (
                [t_prev, t],
                [f_prev, f_new],
                [g_prev, g_new],
                [gtd_prev, gtd_new],
            )
            break
        # extrapolate: the next trial lies between 1.01 and 10 times further than this one
        min_step, max_step = t + 0.01 * (t - t_prev), t * 10
        t_prev, t = t, _cubic_interpolate(t_prev, f_prev, gtd_prev, t, f_new, gtd_new, bounds=(min_step, max_step))
        f_prev, g_prev, gtd_prev = f_new, g_new, gtd_new
        f_new, g_new = obj_func(t, d)
        evals += 1
        gtd_new = g_new.dot(d)
        ls_iter += 1
    if ls_iter == max_ls:
        bracket, bracket_f, bracket_g = [0, t], [f, f_new], [g, g_new]

    # zoom: shrink the bracket until a point in it meets the conditions
    insufficient = False
    low_pos, high_pos = (0, 1) if bracket_f[0] <= bracket_f[-1] else (1, 0)
    while not done and ls_iter < max_ls:
        if abs(bracket[1] - bracket[0]) * d_norm < tolerance_change:
            break
        t = _cubic_interpolate(bracket[0], bracket_f[0], bracket_gtd[0], bracket[1], bracket_f[1], bracket_gtd[1])
        # a trial within a tenth of the bracket from its ends twice running (or beyond them) is moved
        # to that tenth
        eps = 0.1 * (max(bracket) - min(bracket))
        if min(max(bracket) - t, t - min(bracket)) < eps:
            if insufficient or t >= max(bracket) or t <= min(bracket):
                t = max(bracket) - eps if abs(t - max(bracket)) < abs(t - min(bracket)) else min(bracket) + eps
                insufficient = False
            else:
                insufficient = True
        else:
            insufficient = False
        f_new, g_new = obj_func(t, d)
        evals += 1
        gtd_new = g_new.dot(d)
        ls_iter += 1
        if f_new > (f + c1 * t * gtd) or f_new >= bracket_f[low_pos]:
            bracket[high_pos], bracket_f[high_pos], bracket_g[high_pos], bracket_gtd[high_pos] = (
                t,
                f_new,
                g_new,
                gtd_new,
            )
            low_pos, high_pos = (0, 1) if bracket_f[0] <= bracket_f[1] else (1, 0)
        else:
            if abs(gtd_new) <= -c2 * gtd:
                done = True
            elif gtd_new * (bracket[high_pos] - bracket[low_pos]) >= 0:
                bracket[high_pos], bracket_f[high_pos] = bracket[low_pos], bracket_f[low_pos]
                bracket_g[high_pos], bracket_gtd[high_pos] = bracket_g[low_pos], bracket_gtd[low_pos]
            bracket[low_pos], bracket_f[low_pos], bracket_g[low_pos], bracket_gtd[low_pos] = t, f_new, g_new, gtd_new
    return bracket_f[low_pos], bracket_g[low_pos], bracket[low_pos], evals


class LBFGS(Optimizer):
    """Limited-memory BFGS over all parameters as one flat vector x, with gradient g. Each iteration::

        y = g - g_prev;  s = t * d;  if y.s > 1e-10: remember (y, s, 1 / y.s), H = y.s / y.y
        d = -(inverse Hessian estimate) g     (the two-loop recursion over the remembered pairs, H;
                                               d = -g at the first iteration)
        t = lr (min(1, 1 / sum|g|) * lr at the first);  x += t d   (or t from the strong-Wolfe search)

    until ``max_iter`` iterations or ``max_eval`` loss evaluations, ``max|g| <= tolerance_grad``, or a
    change in x or in the loss below ``tolerance_change``. ``step(closure)`` needs the closure: it
    clears the gradients, computes the loss, calls backward and returns the loss; step returns the
    loss of its first call. One parameter group only, as PyTorch's; the state is kept on the first
    parameter under PyTorch's names (``func_evals``, ``n_iter``, ``d``, ``t``, ``old_dirs``, ...)."""

    _rules = {
        "max_iter": ("a number", _is_number),
        "max_eval": ("a number", _is_number),
        "history_size": (
            "a whole number >= 1",
            lambda v: isinstance(v, int) and not _is_flag(v) and v >= 1,
        ),
        "line_search_fn": ("None or 'strong_wolfe'", lambda v: v is None or v == "strong_wolfe"),
    }

    def __init__(
        self,
        params: Iterable,
        lr: float = 1,
        max_iter: int = 20,
        max_eval: int | None = None,
        tolerance_grad: float = 1e-7,
        tolerance_change: float = 1e-9,
        history_size: int = 100,
        line_search_fn: str | None = None,
    ) -> None:
        if max_eval is None and _is_number(max_iter):
            max_eval = max_iter * 5 // 4
        super().__init__(
            params,
            dict(
                lr=lr,
                max_iter=max_iter,
                max_eval=max_eval,
                tolerance_grad=tolerance_grad,
                tolerance_change=tolerance_change,
                history_size=history_size,
                line_search_fn=line_search_fn,
            ),
        )
        if len(self.param_groups) != 1:
            raise ValueError("LBFGS doesn't support per-parameter options (parameter groups): give one group")
        self._params: list[Tensor] = self.param_groups[0]["params"]

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Refused: LBFGS keeps one group (PyTorch's adds it, then every step fails)."""
        raise ValueError("LBFGS.add_param_group: LBFGS has one parameter group only (as PyTorch's); nothing was added")

    # ---- the parameters as one flat vector ----------------------------------------------------------
    def _flat_grad(self) -> np.ndarray:
        for p in self._params:
            if p.grad is not None and p.grad.shape != p.shape:
                raise ValueError(f"LBFGS.step: {self._describe(p)}: its gradient has shape {p.grad.shape}")
        return np.concatenate(
            [np.zeros(p.size, p.dtype) if p.grad is None else p.grad.data.ravel() for p in self._params]
        )

    def _add(self, t: float, d: np.ndarray) -> None:
        """x += t * d, in place on each parameter's array."""
        offset = 0
        for p in self._params:
            p.data += t * d[offset : offset + p.size].reshape(p.shape)
            offset += p.size
            changed_in_place(p.data)

    def _set(self, values: list[np.ndarray]) -> None:
        for p, v in zip(self._params, values):
            p.data[...] = v
            changed_in_place(p.data)

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Up to ``max_iter`` L-BFGS iterations; ``closure`` (required) recomputes the loss and its
        gradients. Returns the closure's first loss, as PyTorch's."""
        guard("side effect", "optimizer.step()")
        if closure is None:
            raise TypeError(
                "LBFGS.step: needs a closure that clears the gradients, computes the loss, calls backward and "
                "returns the loss (LBFGS evaluates it several times per step, as PyTorch's)"
            )
        for p in self._params:
            if not p.data.flags.writeable:
                raise ValueError(f"LBFGS.step: {self._describe(p)}: its array is read-only (not writeable)")

        def evaluate() -> Any:
            with enable_grad():
                return closure()

        group = self.param_groups[0]
        lr, max_iter, max_eval = group["lr"], group["max_iter"], group["max_eval"]
        tolerance_grad, tolerance_change = group["tolerance_grad"], group["tolerance_change"]
        line_search_fn, history_size = group["line_search_fn"], group["history_size"]

        state = self.state.setdefault(self._params[0], {})
        state.setdefault("func_evals", 0)
        state.setdefault("n_iter", 0)

        orig_loss = evaluate()
        loss = float(orig_loss)
        current_evals = 1
        state["func_evals"] += 1
        flat_grad = self._flat_grad()
        if np.abs(flat_grad).max() <= tolerance_grad:
            return orig_loss

        # the memory of earlier steps (None before the first iteration makes it)
        saved: dict[str, Any] = {key: state.get(key) for key in _KEYS[3:]}
        d, t, old_dirs, old_stps, ro = saved["d"], saved["t"], saved["old_dirs"], saved["old_stps"], saved["ro"]
        H_diag, prev_flat_grad, prev_loss = saved["H_diag"], saved["prev_flat_grad"], saved["prev_loss"]

        n_iter = 0
        while n_iter < max_iter:
            n_iter += 1
            state["n_iter"] += 1

            # the direction
            if state["n_iter"] == 1:
                d = -flat_grad
                old_dirs, old_stps, ro = [], [], []
                H_diag = 1
            else:
                y = flat_grad - prev_flat_grad
                s = d * t
                ys = y.dot(s)
                if ys > 1e-10:
                    if len(old_dirs) == history_size:  # forget the oldest pair
                        old_dirs.pop(0)
                        old_stps.pop(0)
                        ro.pop(0)
                    old_dirs.append(y)
                    old_stps.append(s)
                    ro.append(1.0 / ys)
                    H_diag = ys / y.dot(y)
                if "al" not in state:
                    state["al"] = [None] * history_size
                al = state["al"]
                q = -flat_grad
                for i in range(len(old_dirs) - 1, -1, -1):
                    al[i] = old_stps[i].dot(q) * ro[i]
                    q += -al[i] * old_dirs[i]
                d = q * H_diag
                for i in range(len(old_dirs)):
                    be_i = old_dirs[i].dot(d) * ro[i]
                    d += (al[i] - be_i) * old_stps[i]
            prev_flat_grad = flat_grad.copy()
            prev_loss = loss

            # the step length
            t = min(1.0, 1.0 / np.abs(flat_grad).sum()) * lr if state["n_iter"] == 1 else lr
            gtd = flat_grad.dot(d)
            if gtd > -tolerance_change:  # not a descent direction (any more)
                break
            ls_func_evals = 0
            if line_search_fn is not None:
                x_init = [p.data.copy() for p in self._params]

                def obj_func(t: float, d: np.ndarray, x_init: list[np.ndarray] = x_init) -> tuple[float, np.ndarray]:
                    self._add(t, d)
                    value = float(evaluate())
                    grad = self._flat_grad()
                    self._set(x_init)
                    return value, grad

                loss, flat_grad, t, ls_func_evals = _strong_wolfe(
                    obj_func, t, d, loss, flat_grad, gtd, max_ls=max_eval - current_evals
                )
                self._add(t, d)
                opt_cond = np.abs(flat_grad).max() <= tolerance_grad
            else:
                self._add(t, d)
                opt_cond = False
                if n_iter != max_iter:  # the last iteration's loss is not evaluated (PyTorch's neither)
                    loss = float(evaluate())
                    flat_grad = self._flat_grad()
                    opt_cond = np.abs(flat_grad).max() <= tolerance_grad
                    ls_func_evals = 1
            current_evals += ls_func_evals
            state["func_evals"] += ls_func_evals

            if n_iter == max_iter or current_evals >= max_eval or opt_cond:
                break
            if np.abs(d * t).max() <= tolerance_change or abs(loss - prev_loss) < tolerance_change:
                break  # no progress

        state.update(
            d=d, t=t, old_dirs=old_dirs, old_stps=old_stps, ro=ro, H_diag=H_diag,
            prev_flat_grad=prev_flat_grad, prev_loss=prev_loss,
        )  # fmt: skip
        return orig_loss

    def _check_state(self, entry: dict, p: Tensor, group: dict, where: str) -> None:
        """LBFGS's state (on the first parameter only): counts, the last direction and gradient (flat
        vectors of every parameter's elements), the remembered pairs, and numbers."""
        if not entry:
            return
        size = sum(q.size for q in self._params)
        problem = None
        unknown = sorted(set(entry) - set(_KEYS), key=str)
        if p is not self._params[0]:
            problem = " is for a parameter other than the first, where LBFGS keeps none"
        elif unknown:
            problem = f" has keys LBFGS does not keep: {unknown} (it keeps {sorted(_KEYS)})"
        for key in ("func_evals", "n_iter"):
            value: Any = entry.get(key)
            if problem is None and not (_is_number(value) and value >= 0 and float(value).is_integer()):
                problem = f"[{key!r}] must be a whole number >= 0, got {value!r}"
            elif problem is None:
                entry[key] = int(value)
        for key in ("d", "prev_flat_grad"):
            if problem is None and key in entry:
                value = entry[key]
                if not isinstance(value, np.ndarray) or value.shape != (size,):
                    got = f"shape {value.shape}" if isinstance(value, np.ndarray) else repr(value)
                    problem = f"[{key!r}] must be a flat array of the parameters' {size} elements, got {got}"
                else:
                    entry[key] = value.astype(p.dtype)
        for key in ("old_dirs", "old_stps"):
            if problem is None and key in entry:
                rows = entry[key]
                rows = list(rows) if isinstance(rows, (list, np.ndarray)) else rows
                if not isinstance(rows, list) or any(np.shape(r) != (size,) for r in rows):
                    problem = f"[{key!r}] must be a list of flat arrays of the parameters' {size} elements"
                else:
                    entry[key] = [np.array(r, dtype=p.dtype) for r in rows]
        for key in ("ro", "al"):
            if problem is None and key in entry:
                values = entry[key]
                values = values.tolist() if isinstance(values, np.ndarray) else values
                values = [_number(v) for v in values] if isinstance(values, list) else values
                if not isinstance(values, list) or not all(v is None or _is_number(v) for v in values):
                    problem = f"[{key!r}] must be a list of numbers, got {entry[key]!r}"
                else:
                    entry[key] = values
        for key in ("t", "H_diag", "prev_loss"):
            if problem is None and key in entry and not _is_number(entry[key]):
                problem = f"[{key!r}] must be a number, got {entry[key]!r}"
        lengths = {len(entry.get(key, [])) for key in ("old_dirs", "old_stps", "ro")}
        if problem is None and len(lengths) > 1:
            problem = ": old_dirs, old_stps and ro must be as long as one another"
        if problem:
            raise ValueError(f"{where}{problem}; nothing was changed")


def _number(value: Any) -> Any:
    """A loaded entry of ``ro`` or ``al``: a 0-d array (PyTorch's 0-d tensor) as a Python number."""
    if isinstance(value, np.ndarray) and value.ndim == 0 or isinstance(value, np.generic):
        return value.item()
    if hasattr(value, "ndim") and getattr(value, "ndim", None) == 0 and hasattr(value, "item"):
        return value.item()  # a PyTorch tensor, in a list the loader left alone
    return value
