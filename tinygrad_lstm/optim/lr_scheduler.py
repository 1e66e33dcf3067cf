"""Learning-rate schedules with PyTorch's names, call order and arithmetic.

Call ``scheduler.step()`` after ``optimizer.step()``, once per epoch (or per batch for
``OneCycleLR`` and ``CyclicLR``). Each schedule updates ``group["lr"]`` in its optimizer's parameter
groups the way PyTorch does, from the previous rate where PyTorch does (StepLR, ExponentialLR,
CosineAnnealingLR, LinearLR, ConstantLR, PolynomialLR, MultiplicativeLR multiply the current rate, so
ChainedScheduler can stack them), so the rates agree with PyTorch's bit for bit, step by step.

>>> import tinygrad_lstm as tl
>>> w = tl.zeros(2, requires_grad=True)
>>> opt = tl.optim.SGD([w], lr=0.1)
>>> sched = tl.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
>>> rates = []
>>> for epoch in range(5):
...     opt.step()
...     rates.append(sched.get_last_lr()[0])
...     sched.step()
>>> rates
[0.1, 0.1, 0.05, 0.05, 0.025]

A warm-up, then a decay: one schedule after another.

>>> opt = tl.optim.SGD([w], lr=0.1)
>>> warm = tl.optim.lr_scheduler.LinearLR(opt, start_factor=0.5, total_iters=2)
>>> decay = tl.optim.lr_scheduler.ExponentialLR(opt, gamma=0.5)
>>> sched = tl.optim.lr_scheduler.SequentialLR(opt, [warm, decay], milestones=[2])
>>> rates = []
>>> for epoch in range(5):
...     opt.step()
...     rates.append(round(sched.get_last_lr()[0], 12))
...     sched.step()
>>> rates
[0.05, 0.075, 0.1, 0.05, 0.025]
"""

from __future__ import annotations

import math
import warnings
from bisect import bisect_right
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

from ..checks import check_int
from ..tape import guard
from .optimizer import Optimizer, _is_number

__all__ = [
    "ChainedScheduler",
    "ConstantLR",
    "CosineAnnealingLR",
    "CosineAnnealingWarmRestarts",
    "CyclicLR",
    "ExponentialLR",
    "LRScheduler",
    "LambdaLR",
    "LinearLR",
    "MultiStepLR",
    "MultiplicativeLR",
    "OneCycleLR",
    "PolynomialLR",
    "ReduceLROnPlateau",
    "SequentialLR",
    "StepLR",
]


def _per_group(name: str, optimizer: Optimizer, value) -> list:
    """One value per parameter group: a scalar is repeated, a list must have one per group."""
    if isinstance(value, (list, tuple)):
        if len(value) != len(optimizer.param_groups):
            raise ValueError(f"{name}: {len(value)} values given for {len(optimizer.param_groups)} parameter groups")
        return list(value)
    return [value] * len(optimizer.param_groups)


class LRScheduler:
    """The base of every schedule: ``last_epoch`` counts ``step()`` calls; subclasses say the next rates.

    Creating a schedule records each group's ``initial_lr`` and applies the rate for epoch 0.
    """

    def __init__(self, optimizer: Optimizer, last_epoch: int = -1) -> None:
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{type(self).__name__}: {type(optimizer).__name__} is not an optimizer")
        self.optimizer = optimizer
        for k, group in enumerate(optimizer.param_groups):
            if last_epoch == -1:
                group.setdefault("initial_lr", group["lr"])
            elif "initial_lr" not in group:
                raise KeyError(
                    f"{type(self).__name__}: param_groups[{k}] has no 'initial_lr' to resume from "
                    f"(last_epoch={last_epoch}); load the optimizer's state first"
                )
        self.base_lrs = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = last_epoch
        self._initial_step()

    def _initial_step(self) -> None:
        """The step a schedule takes when it is made (or restarted by SequentialLR): epoch 0's rates."""
        self._initial = True
        try:
            self.step()
        finally:
            self._initial = False

    def get_lr(self) -> list[float]:
        """The rates for ``last_epoch`` (already advanced); ``get_last_lr()`` reads the current ones."""
        raise NotImplementedError

    def step(self, epoch: int | None = None) -> None:
        """Advance one epoch and set each group's ``lr``. ``step(epoch)``, deprecated in PyTorch and
        kept for its old code, jumps to ``epoch`` (by the closed form where the schedule has one)."""
        guard("side effect", "scheduler.step()")
        if epoch is not None:
            warnings.warn(
                f"{type(self).__name__}.step(epoch) is deprecated, as in PyTorch: call step() once per epoch",
                UserWarning,
                stacklevel=2,
            )
        self._update_lr(epoch)

    def _update_lr(self, epoch: int | None) -> None:
        """Set the rates for the next epoch, or for ``epoch`` (from the closed form where there is
        one, as PyTorch's: SequentialLR restarts a schedule at 0 so)."""
        if epoch is None:
            self.last_epoch += 1
            rates = self.get_lr()
        else:
            self.last_epoch = epoch
            rates = self._closed_form() if hasattr(self, "_closed_form") else self.get_lr()
        for group, lr in zip(self.optimizer.param_groups, rates):
            group["lr"] = lr
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def get_last_lr(self) -> list[float]:
        """The rates set by the last ``step()`` (or by construction)."""
        return self._last_lr

    def _current(self) -> list[float]:
        return [group["lr"] for group in self.optimizer.param_groups]

    def state_dict(self) -> dict[str, Any]:
        """Everything but the optimizer (and functions, which are not data), as in PyTorch."""
        return {k: v for k, v in self.__dict__.items() if k != "optimizer" and not callable(v)}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Load what :meth:`state_dict` gave; a key this schedule does not keep is refused, and then
        nothing is changed."""
        self._check_loadable(state_dict)
        self._load(state_dict)

    def _check_loadable(self, state_dict: Any) -> None:
        name = f"{type(self).__name__}.load_state_dict"
        if not isinstance(state_dict, dict):
            raise TypeError(f"{name}: expected a dict from state_dict(), got {type(state_dict).__name__}")
        unknown = set(state_dict) - set(self.state_dict())
        if unknown:
            raise KeyError(
                f"{name}: unknown keys {sorted(unknown)} ({type(self).__name__} keeps {sorted(self.state_dict())}); "
                f"nothing was changed"
            )

    def _load(self, state_dict: dict[str, Any]) -> None:
        self.__dict__.update(state_dict)


def _functions(name: str, optimizer: Optimizer, fn: Callable | Sequence[Callable]) -> list[Callable]:
    """LambdaLR's and MultiplicativeLR's ``lr_lambda``: one function, or one per group."""
    fns = _per_group(name, optimizer, fn)
    for f in fns:
        if not callable(f):
            raise TypeError(f"{name}: lr_lambda must be a function (or one per group), got {type(f).__name__}")
    return fns


class LambdaLR(LRScheduler):
    """lr = initial_lr * lr_lambda(epoch), one function or one per group."""

    def __init__(self, optimizer: Optimizer, lr_lambda: Callable | Sequence[Callable], last_epoch: int = -1) -> None:
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"LambdaLR: {type(optimizer).__name__} is not an optimizer")
        self.lr_lambdas = _functions("LambdaLR", optimizer, lr_lambda)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        return [base * f(self.last_epoch) for f, base in zip(self.lr_lambdas, self.base_lrs)]

    def state_dict(self) -> dict[str, Any]:
        state = super().state_dict()
        state.pop("lr_lambdas", None)  # functions are code, not state
        return state


class MultiplicativeLR(LRScheduler):
    """Multiply lr by ``lr_lambda(epoch)`` every epoch (one function, or one per group)."""

    def __init__(self, optimizer: Optimizer, lr_lambda: Callable | Sequence[Callable], last_epoch: int = -1) -> None:
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"MultiplicativeLR: {type(optimizer).__name__} is not an optimizer")
        self.lr_lambdas = _functions("MultiplicativeLR", optimizer, lr_lambda)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        if self._initial:
            return self._current()
        return [lr * f(self.last_epoch) for f, lr in zip(self.lr_lambdas, self._current())]

    def state_dict(self) -> dict[str, Any]:
        state = super().state_dict()
        state.pop("lr_lambdas", None)  # functions are code, not state
        return state


class StepLR(LRScheduler):
    """Multiply lr by ``gamma`` every ``step_size`` epochs."""

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1, last_epoch: int = -1) -> None:
        if not isinstance(step_size, int) or step_size <= 0:
            raise ValueError(f"StepLR: step_size must be a positive integer, got {step_size!r}")
        self.step_size, self.gamma = step_size, gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        if self.last_epoch == 0 or self.last_epoch % self.step_size:
            return self._current()
        return [lr * self.gamma for lr in self._current()]

    def _closed_form(self) -> list[float]:
        return [base * self.gamma ** (self.last_epoch // self.step_size) for base in self.base_lrs]


class MultiStepLR(LRScheduler):
    """Multiply lr by ``gamma`` at each milestone epoch (twice if it is listed twice)."""

    def __init__(self, optimizer: Optimizer, milestones: Sequence[int], gamma: float = 0.1, last_epoch: int = -1):
        self.milestones = Counter(milestones)
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        if self.last_epoch not in self.milestones:
            return self._current()
        return [lr * self.gamma ** self.milestones[self.last_epoch] for lr in self._current()]

    def _closed_form(self) -> list[float]:
        passed = bisect_right(sorted(self.milestones.elements()), self.last_epoch)
        return [base * self.gamma**passed for base in self.base_lrs]


class ExponentialLR(LRScheduler):
    """Multiply lr by ``gamma`` every epoch."""

    def __init__(self, optimizer: Optimizer, gamma: float, last_epoch: int = -1) -> None:
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        return self._current() if self._initial else [lr * self.gamma for lr in self._current()]

    def _closed_form(self) -> list[float]:
        return [base * self.gamma**self.last_epoch for base in self.base_lrs]


class CosineAnnealingLR(LRScheduler):
    """Half a cosine from initial_lr down to ``eta_min`` over ``T_max`` epochs, then back up (SGDR
    without restarts), computed from the previous rate as PyTorch does."""

    def __init__(self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0, last_epoch: int = -1) -> None:  # noqa: N803
        if T_max <= 0:
            raise ValueError(f"CosineAnnealingLR: T_max must be positive, got {T_max}")
        self.T_max, self.eta_min = T_max, eta_min
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        t, period = self.last_epoch, self.T_max
        if self._initial:
            return self._current()
        if (t - 1 - period) % (2 * period) == 0:  # at the bottom the ratio form divides by ~0: step up
            return [
                lr + (base - self.eta_min) * (1 - math.cos(math.pi / period)) / 2
                for lr, base in zip(self._current(), self.base_lrs)
            ]
        ratio = (1 + math.cos(math.pi * t / period)) / (1 + math.cos(math.pi * (t - 1) / period))
        return [ratio * (lr - self.eta_min) + self.eta_min for lr in self._current()]

    def _closed_form(self) -> list[float]:
        cosine = 1 + math.cos(math.pi * self.last_epoch / self.T_max)
        return [self.eta_min + (base - self.eta_min) * cosine / 2 for base in self.base_lrs]


def _factor(op: str, arg: str, value: Any, low_open: bool = False) -> float:
    """A factor in [0, 1] (or (0, 1]: one the rate is later divided by)."""
    if not _is_number(value) or not (0 < value <= 1 if low_open else 0 <= value <= 1):
        raise ValueError(f"{op}: {arg} must be a number in {'(0, 1]' if low_open else '[0, 1]'}, got {value!r}")
    return value


class ConstantLR(LRScheduler):
    """lr = initial_lr * ``factor`` for the first ``total_iters`` epochs, then initial_lr (a warm-up)."""

    def __init__(self, optimizer: Optimizer, factor: float = 1.0 / 3, total_iters: int = 5, last_epoch: int = -1):
        # factor 0 would divide by zero at total_iters, where the rate comes back
        self.factor = _factor("ConstantLR", "factor", factor, low_open=True)
        self.total_iters = check_int("ConstantLR", "total_iters", total_iters, least=1)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        if self.last_epoch == 0:
            return [lr * self.factor for lr in self._current()]
        if self.last_epoch != self.total_iters:
            return self._current()
        return [lr * (1.0 / self.factor) for lr in self._current()]

    def _closed_form(self) -> list[float]:
        return [
            base * (self.factor + (self.last_epoch >= self.total_iters) * (1 - self.factor)) for base in self.base_lrs
        ]


class LinearLR(LRScheduler):
    """lr goes in a straight line from initial_lr * ``start_factor`` to initial_lr * ``end_factor`` over
    ``total_iters`` epochs, then stays (a warm-up, or a linear decay)."""

    def __init__(
        self,
        optimizer: Optimizer,
        start_factor: float = 1.0 / 3,
        end_factor: float = 1.0,
        total_iters: int = 5,
        last_epoch: int = -1,
    ) -> None:
        self.start_factor = _factor("LinearLR", "start_factor", start_factor, low_open=True)
        self.end_factor = _factor("LinearLR", "end_factor", end_factor)
        self.total_iters = check_int("LinearLR", "total_iters", total_iters, least=1)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        if self.last_epoch == 0:
            return [lr * self.start_factor for lr in self._current()]
        if self._initial or self.last_epoch > self.total_iters:
            return self._current()
        rise = self.end_factor - self.start_factor  # the next factor over this one, as PyTorch computes it
        ratio = 1.0 + rise / (self.total_iters * self.start_factor + (self.last_epoch - 1) * rise)
        return [lr * ratio for lr in self._current()]

    def _closed_form(self) -> list[float]:
        done = min(self.total_iters, self.last_epoch)
        rise = self.end_factor - self.start_factor
        return [base * (self.start_factor + rise * done / self.total_iters) for base in self.base_lrs]


class PolynomialLR(LRScheduler):
    """lr = initial_lr * (1 - epoch / total_iters) ** power, down to 0 at ``total_iters``."""

    def __init__(self, optimizer: Optimizer, total_iters: int = 5, power: float = 1.0, last_epoch: int = -1) -> None:
        self.total_iters = check_int("PolynomialLR", "total_iters", total_iters, least=1)
        if not _is_number(power):
            raise ValueError(f"PolynomialLR: power must be a number, got {power!r}")
        self.power = power
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        if self._initial or self.last_epoch > self.total_iters:
            return self._current()
        t, total = self.last_epoch, self.total_iters
        decay = ((1.0 - t / total) / (1.0 - (t - 1) / total)) ** self.power
        return [lr * decay for lr in self._current()]

    def _closed_form(self) -> list[float]:
        left = 1.0 - min(self.total_iters, self.last_epoch) / self.total_iters
        return [base * left**self.power for base in self.base_lrs]


class OneCycleLR(LRScheduler):
    """The 1cycle policy (Smith & Topin 2017): warm up from max_lr/div_factor to ``max_lr`` over
    ``pct_start`` of ``total_steps``, then anneal to initial_lr/final_div_factor; momentum (or Adam's
    beta1) cycles the other way. Step it once per batch."""

    def __init__(
        self,
        optimizer: Optimizer,
        max_lr: float | Sequence[float],
        total_steps: int | None = None,
        epochs: int | None = None,
        steps_per_epoch: int | None = None,
        pct_start: float = 0.3,
        anneal_strategy: str = "cos",
        cycle_momentum: bool = True,
        base_momentum: float | Sequence[float] = 0.85,
        max_momentum: float | Sequence[float] = 0.95,
        div_factor: float = 25.0,
        final_div_factor: float = 1e4,
        three_phase: bool = False,
        last_epoch: int = -1,
    ) -> None:
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"OneCycleLR: {type(optimizer).__name__} is not an optimizer")
        if total_steps is None:
            if not (
                isinstance(epochs, int) and epochs > 0 and isinstance(steps_per_epoch, int) and steps_per_epoch > 0
            ):
                raise ValueError("OneCycleLR: give total_steps, or epochs and steps_per_epoch (positive integers)")
            total_steps = epochs * steps_per_epoch
        if not isinstance(total_steps, int) or total_steps <= 0:
            raise ValueError(f"OneCycleLR: total_steps must be a positive integer, got {total_steps!r}")
        if not 0 <= pct_start <= 1:
            raise ValueError(f"OneCycleLR: pct_start must be between 0 and 1, got {pct_start}")
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(f"OneCycleLR: anneal_strategy must be 'cos' or 'linear', got {anneal_strategy!r}")
        self.total_steps, self.anneal_strategy = total_steps, anneal_strategy
        up = float(pct_start * total_steps) - 1
        # (last step of the phase, lr from, lr to, momentum from, momentum to)
        if three_phase:
            self.phases = [
                (up, "initial_lr", "max_lr", "max_momentum", "base_momentum"),
                (float(2 * pct_start * total_steps) - 2, "max_lr", "initial_lr", "base_momentum", "max_momentum"),
                (total_steps - 1, "initial_lr", "min_lr", "max_momentum", "max_momentum"),
            ]
        else:
            self.phases = [
                (up, "initial_lr", "max_lr", "max_momentum", "base_momentum"),
                (total_steps - 1, "max_lr", "min_lr", "base_momentum", "max_momentum"),
            ]
        if last_epoch == -1:
            for group, top in zip(optimizer.param_groups, _per_group("OneCycleLR", optimizer, max_lr)):
                group["initial_lr"] = top / div_factor
                group["max_lr"] = top
                group["min_lr"] = group["initial_lr"] / final_div_factor
        self.cycle_momentum = cycle_momentum
        if cycle_momentum:
            if "momentum" not in optimizer.defaults and "betas" not in optimizer.defaults:
                raise ValueError("OneCycleLR: cycle_momentum needs an optimizer with momentum or betas")
            self.use_beta1 = "betas" in optimizer.defaults
            highs = _per_group("OneCycleLR", optimizer, max_momentum)
            lows = _per_group("OneCycleLR", optimizer, base_momentum)
            if last_epoch == -1:
                for group, high, low in zip(optimizer.param_groups, highs, lows):
                    self._set_momentum(group, high)
                    group["max_momentum"], group["base_momentum"] = high, low
        super().__init__(optimizer, last_epoch)

    def _set_momentum(self, group: dict, value: float) -> None:
        if self.use_beta1:
            group["betas"] = (value, *group["betas"][1:])
        else:
            group["momentum"] = value

    def _anneal(self, start: float, end: float, pct: float) -> float:
        if self.anneal_strategy == "cos":
            return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)
        return (end - start) * pct + start

    def get_lr(self) -> list[float]:
        step = self.last_epoch
        if step > self.total_steps:
            raise ValueError(f"OneCycleLR: stepped {step} times, more than total_steps = {self.total_steps}")
        rates = []
        for group in self.optimizer.param_groups:
            start = 0.0
            for k, (end, lr_from, lr_to, m_from, m_to) in enumerate(self.phases):
                if step <= end or k == len(self.phases) - 1:
                    pct = (step - start) / (end - start)
                    rates.append(self._anneal(group[lr_from], group[lr_to], pct))
                    if self.cycle_momentum:
                        self._set_momentum(group, self._anneal(group[m_from], group[m_to], pct))
                    break
                start = end
        return rates


class ReduceLROnPlateau(LRScheduler):
    """Multiply lr by ``factor`` once a metric has stopped improving for ``patience`` epochs:
    ``scheduler.step(val_loss)``."""

    def __init__(
        self,
        optimizer: Optimizer,
        mode: str = "min",
        factor: float = 0.1,
        patience: int = 10,
        threshold: float = 1e-4,
        threshold_mode: str = "rel",
        cooldown: int = 0,
        min_lr: float | Sequence[float] = 0.0,
        eps: float = 1e-8,
    ) -> None:
        if factor >= 1.0:
            raise ValueError(f"ReduceLROnPlateau: factor must be below 1, got {factor}")
        if mode not in ("min", "max") or threshold_mode not in ("rel", "abs"):
            raise ValueError(
                f"ReduceLROnPlateau: mode must be 'min' or 'max' and threshold_mode 'rel' or 'abs', "
                f"got {mode!r} and {threshold_mode!r}"
            )
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"ReduceLROnPlateau: {type(optimizer).__name__} is not an optimizer")
        self.optimizer = optimizer
        self.mode, self.factor, self.patience = mode, factor, patience
        self.threshold, self.threshold_mode = threshold, threshold_mode
        self.cooldown, self.eps = cooldown, eps
        self.min_lrs = _per_group("ReduceLROnPlateau", optimizer, min_lr)
        self.last_epoch = 0
        self.best = math.inf if mode == "min" else -math.inf
        self.cooldown_counter = 0
        self.num_bad_epochs = 0
        self._last_lr = self._current()

    def _is_better(self, value: float) -> bool:
        if self.threshold_mode == "rel":
            bar = self.best * (1 - self.threshold if self.mode == "min" else 1 + self.threshold)
        else:
            bar = self.best - self.threshold if self.mode == "min" else self.best + self.threshold
        return value < bar if self.mode == "min" else value > bar

    def step(self, metrics: Any) -> None:  # type: ignore[override]
        """Record this epoch's metric (a number or a 0-d tensor) and reduce lr if it has plateaued."""
        guard("side effect", "scheduler.step()")
        current = float(metrics)
        self.last_epoch += 1
        if self._is_better(current):
            self.best, self.num_bad_epochs = current, 0
        else:
            self.num_bad_epochs += 1
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0  # bad epochs in cooldown do not count
        if self.num_bad_epochs > self.patience:
            for group, floor in zip(self.optimizer.param_groups, self.min_lrs):
                new = max(group["lr"] * self.factor, floor)
                if group["lr"] - new > self.eps:
                    group["lr"] = new
            self.cooldown_counter, self.num_bad_epochs = self.cooldown, 0
        self._last_lr = self._current()


class CosineAnnealingWarmRestarts(LRScheduler):
    """SGDR (Loshchilov & Hutter 2017): half a cosine from initial_lr down to ``eta_min`` over ``T_0``
    epochs, then a restart, each period ``T_mult`` times the last. ``step(epoch)`` takes a fractional
    epoch too (``epoch + i / batches`` to anneal within an epoch), as PyTorch's."""

    def __init__(
        self,
        optimizer: Optimizer,
        T_0: int,  # noqa: N803
        T_mult: int = 1,  # noqa: N803
        eta_min: float = 0.0,
        last_epoch: int = -1,
    ) -> None:
        self.T_0 = check_int("CosineAnnealingWarmRestarts", "T_0", T_0, least=1)
        self.T_mult = check_int("CosineAnnealingWarmRestarts", "T_mult", T_mult, least=1)
        if not _is_number(eta_min):
            raise ValueError(f"CosineAnnealingWarmRestarts: eta_min must be a number, got {eta_min!r}")
        self.T_i, self.eta_min = self.T_0, eta_min
        self.T_cur: float = last_epoch  # epochs since the last restart
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        cosine = 1 + math.cos(math.pi * self.T_cur / self.T_i)
        return [self.eta_min + (base - self.eta_min) * cosine / 2 for base in self.base_lrs]

    def step(self, epoch: float | None = None) -> None:
        """The next epoch, or ``epoch`` (a number >= 0, fractions allowed)."""
        guard("side effect", "scheduler.step()")
        if epoch is None and self.last_epoch < 0:
            epoch = 0
        if epoch is None:
            epoch = self.last_epoch + 1
            self.T_cur += 1
            if self.T_cur >= self.T_i:
                self.T_cur, self.T_i = self.T_cur % self.T_i, self.T_i * self.T_mult
        else:
            if not _is_number(epoch) or epoch < 0:
                raise ValueError(f"CosineAnnealingWarmRestarts.step: epoch must be a number >= 0, got {epoch!r}")
            if epoch < self.T_0:
                self.T_i, self.T_cur = self.T_0, epoch
            elif self.T_mult == 1:
                self.T_cur = epoch % self.T_0
            else:  # the restart this epoch falls after: periods T_0, T_0 * T_mult, ... sum geometrically
                n = int(math.log(epoch / self.T_0 * (self.T_mult - 1) + 1, self.T_mult))
                self.T_cur = epoch - self.T_0 * (self.T_mult**n - 1) / (self.T_mult - 1)
                self.T_i = self.T_0 * self.T_mult**n
        self.last_epoch = math.floor(epoch)
        for group, lr in zip(self.optimizer.param_groups, self.get_lr()):
            group["lr"] = lr
        self._last_lr = self._current()


class CyclicLR(LRScheduler):
    """The cyclical learning rate (Smith 2017): lr goes from ``base_lr`` up to ``max_lr`` over
    ``step_size_up`` steps and back over ``step_size_down``, the height scaled per cycle
    (``triangular2`` halves it) or per step (``exp_range``: ``gamma ** step``); momentum (or Adam's
    beta1) cycles the other way. Step it once per batch."""

    MODES = ("triangular", "triangular2", "exp_range")

    def __init__(
        self,
        optimizer: Optimizer,
        base_lr: float | Sequence[float],
        max_lr: float | Sequence[float],
        step_size_up: int = 2000,
        step_size_down: int | None = None,
        mode: str = "triangular",
        gamma: float = 1.0,
        scale_fn: Callable[[float], float] | None = None,
        scale_mode: str = "cycle",
        cycle_momentum: bool = True,
        base_momentum: float | Sequence[float] = 0.8,
        max_momentum: float | Sequence[float] = 0.9,
        last_epoch: int = -1,
    ) -> None:
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"CyclicLR: {type(optimizer).__name__} is not an optimizer")
        up = check_int("CyclicLR", "step_size_up", step_size_up, least=1)
        down = up if step_size_down is None else check_int("CyclicLR", "step_size_down", step_size_down, least=1)
        if scale_fn is None and mode not in self.MODES:
            raise ValueError(f"CyclicLR: mode must be one of {self.MODES} (or give scale_fn), got {mode!r}")
        if scale_fn is not None and not callable(scale_fn):
            raise TypeError(f"CyclicLR: scale_fn must be a function, got {type(scale_fn).__name__}")
        if scale_mode not in ("cycle", "iterations"):
            raise ValueError(f"CyclicLR: scale_mode must be 'cycle' or 'iterations', got {scale_mode!r}")
        base_lrs = _per_group("CyclicLR", optimizer, base_lr)
        self.max_lrs = _per_group("CyclicLR", optimizer, max_lr)
        self.total_size = float(up + down)
        self.step_ratio = float(up) / self.total_size
        self.mode, self.gamma, self.scale_fn = mode, gamma, scale_fn
        # the built-in modes choose their own scale_mode (PyTorch's rule)
        self.scale_mode = scale_mode if scale_fn else ("iterations" if mode == "exp_range" else "cycle")
        self.cycle_momentum = cycle_momentum
        if cycle_momentum:
            if "momentum" not in optimizer.defaults and "betas" not in optimizer.defaults:
                raise ValueError(
                    f"CyclicLR: cycle_momentum needs an optimizer with momentum or betas, and "
                    f"{type(optimizer).__name__} has neither; pass cycle_momentum=False"
                )
            self.use_beta1 = "betas" in optimizer.defaults
            self.base_momentums = _per_group("CyclicLR", optimizer, base_momentum)
            self.max_momentums = _per_group("CyclicLR", optimizer, max_momentum)
        if last_epoch == -1:
            for group, lr in zip(optimizer.param_groups, base_lrs):
                group["lr"] = lr
            if cycle_momentum:
                for group, high, low in zip(optimizer.param_groups, self.max_momentums, self.base_momentums):
                    self._set_momentum(group, high)
                    group["max_momentum"], group["base_momentum"] = high, low
        super().__init__(optimizer, last_epoch)
        self.base_lrs = base_lrs  # after the first step, as PyTorch's (which took initial_lr's for it)

    def _set_momentum(self, group: dict, value: float) -> None:
        if self.use_beta1:
            group["betas"] = (value, *group["betas"][1:])
        else:
            group["momentum"] = value

    def _scale(self, x: float) -> float:
        if self.scale_fn is not None:
            return self.scale_fn(x)
        if self.mode == "triangular2":
            return 1 / (2.0 ** (x - 1))
        return self.gamma**x if self.mode == "exp_range" else 1.0

    def get_lr(self) -> list[float]:
        cycle = math.floor(1 + self.last_epoch / self.total_size)
        x = 1.0 + self.last_epoch / self.total_size - cycle  # how far into this cycle, 0 to 1
        fraction = x / self.step_ratio if x <= self.step_ratio else (x - 1) / (self.step_ratio - 1)
        scale = self._scale(cycle if self.scale_mode == "cycle" else self.last_epoch)
        rates = [base + (top - base) * fraction * scale for base, top in zip(self.base_lrs, self.max_lrs)]
        if self.cycle_momentum:
            for group, low, high in zip(self.optimizer.param_groups, self.base_momentums, self.max_momentums):
                self._set_momentum(group, high - (high - low) * fraction * scale)
        return rates


def _parts(name: str, schedulers: Any, optimizer: Optimizer | None) -> list[LRScheduler]:
    """SequentialLR's and ChainedScheduler's schedules: at least one, all of one optimizer, none that
    needs a metric to step."""
    schedulers = list(schedulers) if isinstance(schedulers, (list, tuple)) else schedulers
    if not isinstance(schedulers, list) or not schedulers:
        raise ValueError(f"{name}: schedulers must be a non-empty list of schedules, got {schedulers!r}")
    optimizer = optimizer if optimizer is not None else getattr(schedulers[0], "optimizer", None)
    for k, s in enumerate(schedulers):
        if not isinstance(s, LRScheduler):
            raise TypeError(f"{name}: schedulers[{k}] is a {type(s).__name__}, not a learning-rate schedule")
        if isinstance(s, ReduceLROnPlateau):
            raise ValueError(f"{name}: schedulers[{k}] is a ReduceLROnPlateau, whose step() needs a metric")
        if s.optimizer is not optimizer:
            raise ValueError(f"{name}: schedulers[{k}] ({type(s).__name__}) schedules another optimizer")
    return schedulers


class _Composite(LRScheduler):
    """A schedule made of schedules: its state_dict holds each one's."""

    _schedulers: list[LRScheduler]

    def state_dict(self) -> dict[str, Any]:
        state = {k: v for k, v in self.__dict__.items() if k not in ("optimizer", "_schedulers")}
        state["_schedulers"] = [s.state_dict() for s in self._schedulers]
        return state

    def _check_loadable(self, state_dict: Any) -> None:
        super()._check_loadable(state_dict)
        parts = state_dict.get("_schedulers", [])
        if len(parts) != len(self._schedulers):
            raise ValueError(
                f"{type(self).__name__}.load_state_dict: {len(parts)} schedules' states for "
                f"{len(self._schedulers)} schedules; nothing was changed"
            )
        for s, part in zip(self._schedulers, parts):
            s._check_loadable(part)

    def _load(self, state_dict: dict[str, Any]) -> None:
        self.__dict__.update({k: v for k, v in state_dict.items() if k != "_schedulers"})
        for s, part in zip(self._schedulers, state_dict.get("_schedulers", [])):
            s._load(part)


class SequentialLR(_Composite):
    """One schedule after another: ``schedulers[i]`` runs from ``milestones[i - 1]`` (and restarts from
    its epoch 0 there), e.g. ``SequentialLR(opt, [LinearLR(opt, 0.1), CosineAnnealingLR(opt, 95)], [5])``
    for a warm-up."""

    def __init__(
        self, optimizer: Optimizer, schedulers: Sequence[LRScheduler], milestones: Sequence[int], last_epoch: int = -1
    ) -> None:
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"SequentialLR: {type(optimizer).__name__} is not an optimizer")
        parts = _parts("SequentialLR", schedulers, optimizer)
        milestones = [check_int("SequentialLR", "milestones", m) for m in milestones]
        if len(milestones) != len(parts) - 1 or milestones != sorted(milestones):
            raise ValueError(
                f"SequentialLR: milestones must be {len(parts) - 1} increasing epochs, one fewer than the "
                f"schedules, got {milestones}"
            )
        self._schedulers, self._milestones = parts, milestones
        self.optimizer = optimizer
        self.last_epoch = last_epoch + 1
        for group in optimizer.param_groups:  # undo what making each schedule did to the rates
            group["lr"] = group["initial_lr"]
        self._undo_made_step(self)
        first = parts[bisect_right(milestones, 0)]
        first._initial_step()
        self._last_lr = first.get_last_lr()

    @staticmethod
    def _undo_made_step(schedule: LRScheduler) -> None:
        """Take back the step each schedule took when it was made (PyTorch's recursive_undo)."""
        if isinstance(schedule, _Composite):
            for s in schedule._schedulers:
                SequentialLR._undo_made_step(s)
        else:
            schedule.last_epoch -= 1

    def get_lr(self) -> list[float]:
        return self._current()

    def step(self) -> None:  # type: ignore[override]  # (no epoch: PyTorch's takes none either)
        guard("side effect", "scheduler.step()")
        self.last_epoch += 1
        k = bisect_right(self._milestones, self.last_epoch)
        schedule = self._schedulers[k]
        if k > 0 and self._milestones[k - 1] == self.last_epoch:
            schedule._update_lr(0)  # its start: epoch 0's rate, from initial_lr
        else:
            schedule.step()
        self._last_lr = schedule.get_last_lr()


class ChainedScheduler(_Composite):
    """Several schedules at once: each ``step()`` steps every one, in order, each multiplying (or
    setting) the rate the one before left, e.g. a warm-up times an exponential decay."""

    def __init__(self, schedulers: Sequence[LRScheduler], optimizer: Optimizer | None = None) -> None:
        if optimizer is not None and not isinstance(optimizer, Optimizer):
            raise TypeError(f"ChainedScheduler: {type(optimizer).__name__} is not an optimizer")
        self._schedulers = _parts("ChainedScheduler", schedulers, optimizer)
        self.optimizer = self._schedulers[0].optimizer
        self._last_lr = self._current()

    def get_lr(self) -> list[float]:
        return self._current()

    def step(self) -> None:  # type: ignore[override]  # (no epoch: PyTorch's takes none either)
        guard("side effect", "scheduler.step()")
        for s in self._schedulers:
            s.step()
        self._last_lr = self._current()
