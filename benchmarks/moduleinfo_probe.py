"""PyTorch's ModuleInfo samples through this engine's nn: a differential probe beside the test suite.

    pip install expecttest      # torch.testing's module database imports it
    python benchmarks/moduleinfo_probe.py first [NAME...]     # float64: outputs, gradients, buffers after forward
    python benchmarks/moduleinfo_probe.py second [NAME...]    # the same, then second order (create_graph=True)
    python benchmarks/moduleinfo_probe.py float32 [NAME...]   # float32: each output's and gradient's dtype, 1e-4
    python benchmarks/moduleinfo_probe.py errors [NAME...]    # the inputs PyTorch refuses: refused here too, clearly
    python benchmarks/moduleinfo_probe.py signatures          # every tl.nn class's parameter names against torch.nn's
    python benchmarks/moduleinfo_probe.py compile [NAME...]   # tl.compile of forward + loss over 3 calls, against eager

Each ModuleInfo of ``module_db`` whose class name ``tl.nn`` has runs on its own samples, in training
mode and, where the two differ, in eval mode. For each sample both modules are built from the same
constructor arguments and cast to the dtype (as PyTorch's module tests do: ``m(*args, **kwargs).to(dtype)``),
PyTorch's parameters and buffers are loaded into this engine's module (``load_state_dict``), both run
forward on the same inputs, and the gradient of ``sum(out * w)`` for one random ``w`` per output is taken
with respect to every input that requires grad and every parameter. Compared: each output's value (1e-9
relative in float64, PyTorch's parity bound) and dtype, each gradient, the buffers after forward (running
statistics), the state_dict's keys in order, and in ``second`` mode the gradient of ``sum(g * v)`` with
respect to the same tensors. In ``compile`` mode this engine is compared with itself: ``tl.compile`` of
the same loss (exact and not), three calls with the parameters moved between them as an optimizer would,
against eager execution from the same state (loss, every gradient, the buffers).
A line is printed for each sample that differs, or that this engine refuses where PyTorch computes, and
the counts at the end. In ``errors`` mode a line is printed where PyTorch refuses an input and this engine
computes, or refuses with a message naming neither the module nor a size. In ``signatures`` mode (every
class of ``tl.nn`` that ``torch.nn`` has, not only the database's, and every function of ``nn.functional``)
PyTorch's names of the parameters (a module's constructor's and ``forward``'s), in order, must begin ours,
so that a call by position or keyword means the same.

Not a test: some lines are the probe's own limits, not the engine's:
- random modules in training mode (dropout between recurrent layers): the two libraries draw different
  masks, so only eval mode is compared there;
- a gradient PyTorch marks as requiring grad although it is constant in the inputs (a linear module's
  gradient with respect to its input, at second order), where this engine's may not require grad:
  compared as zero;
- an error message whose words differ from PyTorch's but that still names the module and the sizes;
- counted, not printed: samples PyTorch has no second derivative for (``torch-refuses-second``:
  MultiMarginLoss), error inputs this PyTorch computes although the database expects a refusal
  (``torch-computes``), and steps ``tl.compile`` refuses by name (``compile-refuses``, with the reason);
- ``signatures``: ``F.normalize``'s ``out=`` (no preallocated results here).
What it found became tests (``tests/test_module_probes.py``).
"""

import inspect
import re
import sys
import warnings
from collections import Counter

import numpy as np
import torch
from torch.testing._internal.common_modules import ModuleErrorEnum, module_db
from torch_values import DTYPES, flat, npy, to_tl

import tinygrad_lstm as tl

warnings.filterwarnings("ignore")
MODE = sys.argv[1] if len(sys.argv) > 1 else "first"
ONLY = sys.argv[2:]
DT = torch.float32 if MODE == "float32" else torch.float64
TOL = 1e-4 if MODE == "float32" else 1e-9
RANDOM_IN_TRAINING = {"RNN", "GRU", "LSTM"}  # dropout between layers


def fresh(v):
    """A torch value with new leaves, so that no two runs share a tensor's gradient."""
    if isinstance(v, torch.Tensor):
        return v.detach().clone().requires_grad_(v.requires_grad)
    if isinstance(v, (list, tuple)):
        out = [fresh(x) for x in v]
        return type(v)(out) if isinstance(v, tuple) else out
    if isinstance(v, dict):
        return {k: fresh(x) for k, x in v.items()}
    return v


def close(a, b, tol=TOL):
    """Equal to tol relative to the larger of |b| and the array's scale (a cancellation near zero is not an error)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        return False
    scale = max(1.0, float(np.max(np.abs(b[np.isfinite(b)]), initial=0.0)))
    return np.allclose(a, b, rtol=tol, atol=tol * scale, equal_nan=True)


def same_dtype(a, b) -> bool:
    return str(a.dtype) == str(b.dtype).removeprefix("torch.")


def show(a):
    return None if a is None else np.asarray(npy(a)).ravel()[:4]


def build_torch(mi, s, training):
    ci = s.constructor_input
    torch.manual_seed(0)
    return mi.module_cls(*ci.args, **ci.kwargs).to(DT).train(training)


def build(mi, s, tm, training):
    """Our module from the sample's constructor arguments, cast to DT, with PyTorch's state (before forward)."""
    ci = s.constructor_input
    m = getattr(tl.nn, mi.module_cls.__name__)(*to_tl(list(ci.args), []), **to_tl(dict(ci.kwargs), []))
    m.to(DTYPES[DT]).train(training)
    m.load_state_dict({k: v.detach().numpy().copy() for k, v in tm.state_dict().items()})
    return m


def compare(what, ours, theirs):
    """None where equal (value and dtype), else a line."""
    if (ours is None) != (theirs is None):
        if ours is not None and np.all(npy(ours) == 0):
            return None  # a zero where PyTorch has no gradient: the same
        return f"{what} None-ness differs ours={ours is None}"
    if ours is None:
        return None
    if not same_dtype(ours, theirs):
        return f"{what} DTYPE {ours.dtype} vs {theirs.dtype}"
    if not close(npy(ours), npy(theirs)):
        return f"{what} differs {show(ours)} vs {show(theirs)}"
    return None


def run_sample(mi, s, training, stats):
    name = mi.module_cls.__name__
    fi = s.forward_input
    targs, tkwargs = fresh(list(fi.args)), fresh(dict(fi.kwargs))
    try:
        tm = build_torch(mi, s, training)
    except Exception:
        stats["torch-refuses"] += 1
        return None
    try:
        m = build(mi, s, tm, training)
    except Exception as e:
        return f"REFUSES TO BUILD {type(e).__name__}: {str(e)[:160]}"
    try:
        tout = tm(*targs, **tkwargs)
    except Exception:
        stats["torch-refuses"] += 1
        return None
    leaves: list = []
    args = to_tl(targs, leaves)
    kwargs = to_tl(tkwargs, leaves)
    try:
        out = m(*args, **kwargs)
    except Exception as e:
        return f"REFUSES {type(e).__name__}: {str(e)[:160]}"
    touts = [o for o in flat(tout) if isinstance(o, torch.Tensor)]
    outs = [o for o in flat(out) if isinstance(o, tl.Tensor)]
    if len(outs) != len(touts):
        return f"n outputs {len(outs)} vs {len(touts)}"
    if training and name in RANDOM_IN_TRAINING and getattr(tm, "dropout", 0):
        stats["random"] += 1
        return None
    for i, (o, to) in enumerate(zip(outs, touts)):
        if o.shape != tuple(to.shape):
            return f"OUTPUT {i} shape {o.shape} vs {tuple(to.shape)}"
        msg = compare(f"OUTPUT {i}", o, to)
        if msg:
            return msg
    if list(m.state_dict()) != list(tm.state_dict()):  # PyTorch's order: a user zips or lists them
        return f"STATE_DICT keys {list(m.state_dict())} vs {list(tm.state_dict())}"
    # buffers after forward (running statistics)
    tbufs = dict(tm.named_buffers())
    bufs = dict(m.named_buffers())
    if set(tbufs) != set(bufs):
        return f"BUFFER names {sorted(bufs)} vs {sorted(tbufs)}"
    for k in tbufs:
        msg = compare(f"BUFFER {k}", bufs[k], tbufs[k])
        if msg:
            return msg
    # first order: every input that requires grad and every parameter
    tparams = dict(tm.named_parameters())
    params = dict(m.named_parameters())
    if set(tparams) != set(params):
        return f"PARAMETER names {sorted(params)} vs {sorted(tparams)}"
    pairs = [(o, to) for o, to in zip(outs, touts) if to.requires_grad and to.dtype.is_floating_point]
    tx = [t for t, _ in leaves] + list(tparams.values())
    xs = [x for _, x in leaves] + [params[k] for k in tparams]
    names = [f"input {i}" for i in range(len(leaves))] + list(tparams)
    if not pairs or not tx:
        stats["no-grad"] += 1
        return None
    rng = np.random.default_rng(0)
    ws = [rng.standard_normal(tuple(to.shape)) for _, to in pairs]
    np_dt = np.float32 if DT == torch.float32 else np.float64
    second = MODE == "second" and mi.supports_gradgrad
    g = torch.autograd.grad(
        sum((to * torch.tensor(w, dtype=to.dtype)).sum() for (_, to), w in zip(pairs, ws)),
        tx,
        allow_unused=True,
        create_graph=second,
    )
    try:
        L = sum((o * tl.tensor(w.astype(np_dt))).sum() for (o, _), w in zip(pairs, ws))
        gg = tl.grad(L, xs, allow_unused=True, create_graph=second)
    except Exception as e:
        return f"BACKWARD REFUSES {type(e).__name__}: {str(e)[:160]}"
    for n, a, b in zip(names, gg, g):
        msg = compare(f"GRAD {n}", a, b)
        if msg:
            return msg
    if not second:
        stats["first-ok"] += 1
        return None
    # second order: d/dx sum(g * v) over the gradients PyTorch says depend on the inputs
    vs = [rng.standard_normal(tuple(x.shape)) for x in tx]
    keep = [i for i, b in enumerate(g) if b is not None and b.requires_grad]
    if not keep:
        stats["first-ok"] += 1
        return None
    try:
        g2 = torch.autograd.grad(sum((g[i] * torch.tensor(vs[i])).sum() for i in keep), tx, allow_unused=True)
    except RuntimeError:  # no second derivative in PyTorch (multi_margin_loss_backward)
        stats["torch-refuses-second"] += 1
        return None
    terms = [(gg[i] * tl.tensor(vs[i])).sum() for i in keep if gg[i] is not None and gg[i].requires_grad]
    if not terms:
        if all(b is None or np.all(npy(b) == 0) for b in g2):
            stats["second-ok"] += 1
            return None
        return "SECOND: our gradients do not require grad"
    try:
        gg2 = tl.grad(sum(terms), xs, allow_unused=True)
    except Exception as e:
        return f"SECOND REFUSES {type(e).__name__}: {str(e)[:160]}"
    for n, a, b in zip(names, gg2, g2):
        if (a is None or np.all(npy(a) == 0)) and (b is None or np.all(npy(b) == 0)):
            continue
        msg = compare(f"SECOND {n}", a, b)
        if msg:
            return msg
    stats["second-ok"] += 1
    return None


def compiled(mi, s, training, stats):
    """tl.compile(loss) against eager from the same state, three calls, parameters moved between calls."""
    name = mi.module_cls.__name__
    try:
        tm = build_torch(mi, s, training)
        m = build(mi, s, tm, training)
    except Exception:
        stats["not-built"] += 1
        return None
    if training and name in RANDOM_IN_TRAINING and getattr(tm, "dropout", 0):
        stats["random"] += 1
        return None
    leaves: list = []
    args = to_tl(fresh(list(s.forward_input.args)), leaves)
    kwargs = to_tl(fresh(dict(s.forward_input.kwargs)), leaves)
    xs = [x for _, x in leaves] + list(m.parameters())
    try:
        outs = [o for o in flat(m(*args, **kwargs)) if isinstance(o, tl.Tensor) and o.requires_grad]
    except Exception:
        stats["eager-refuses"] += 1
        return None
    if not outs or not xs:
        stats["no-grad"] += 1
        return None
    rng = np.random.default_rng(0)
    ws = [rng.standard_normal(o.shape).astype(o.dtype) for o in outs]
    buffers = [b for b in m.buffers() if b is not None]

    def loss():
        outs = [o for o in flat(m(*args, **kwargs)) if isinstance(o, tl.Tensor) and o.requires_grad]
        return sum((o * w).sum() for o, w in zip(outs, ws))

    def run(fn):
        for x in xs:
            x.grad = None
        L = fn()
        L.backward()
        return (
            np.asarray(L.data).copy(),
            [None if x.grad is None else x.grad.data.copy() for x in xs],
            [b.data.copy() for b in buffers],
        )

    for exact in (True, False):
        step = tl.compile(loss, exact=exact)
        for call_no in range(3):
            before = [b.data.copy() for b in buffers]
            try:
                got = run(step)
            except tl.CompileError as e:  # says why (ops whose sequence depends on values): counted, and shown
                stats["compile-refuses"] += 1
                print(f"  (compile refuses {name}: {' '.join(str(e).split())[:160]})")
                return None
            except Exception as e:
                return f"COMPILE CRASH call {call_no} {type(e).__name__}: {str(e)[:160]}"
            for b, v in zip(buffers, before):  # eager from the same running statistics
                b.data[...] = v
            want = run(loss)
            for what, a, b in zip(("LOSS", "GRAD", "BUFFER"), got, want):
                pairs = [(a, b)] if what == "LOSS" else list(zip(a, b))
                for i, (u, v) in enumerate(pairs):
                    if (u is None) != (v is None):
                        return f"REPLAY {what} {i} None-ness call {call_no}"
                    if u is None:
                        continue
                    same = np.array_equal(u, v, equal_nan=True) if exact else close(u, v, 1e-10)
                    if not same:
                        where = f"call {call_no} exact={exact}"
                        return f"REPLAY {what} {i} differs {where}: {u.ravel()[:3]} vs {v.ravel()[:3]}"
            for p in m.parameters():
                p.data[...] = p.data + 0.01 * (call_no + 1) * rng.standard_normal(p.shape)
    stats["compile-ok"] += 1
    return None


def named(message: str, module: str) -> bool:
    """A clear refusal names the module (or its functional form) or states a size or shape."""
    low = message.lower()
    return module.lower() in low or bool(re.search(r"\d", message))


def run_error(mi, e, training, stats):
    """PyTorch refuses this input (at construction or forward): this engine should refuse, clearly."""
    s = e.module_error_input
    name = mi.module_cls.__name__
    ci, fi = s.constructor_input, s.forward_input
    try:
        tm = build_torch(mi, s, training)
        if e.error_on == ModuleErrorEnum.FORWARD_ERROR:
            tm(*fresh(list(fi.args)), **fresh(dict(fi.kwargs)))
        stats["torch-computes"] += 1  # the database's expectation no longer holds for this version
        return None
    except Exception:
        pass
    try:
        m = getattr(tl.nn, name)(*to_tl(list(ci.args), []), **to_tl(dict(ci.kwargs), []))
        if e.error_on == ModuleErrorEnum.CONSTRUCTION_ERROR:
            return f"BUILDS what PyTorch refuses ({e.error_regex})"
        m.to(DTYPES[DT]).train(training)
        m(*to_tl(list(fi.args), []), **to_tl(dict(fi.kwargs), []))
    except Exception as err:
        msg = str(err)
        if not named(msg, name):
            return f"UNCLEAR {type(err).__name__}: {msg[:160]} (PyTorch: {e.error_regex})"
        stats["refused-clearly"] += 1
        return None
    return f"COMPUTES what PyTorch refuses ({e.error_regex})"


def names_of(fn, skip: int = 1) -> list[str]:
    """The parameters a caller can pass by position or name (not self, *args, **kwargs)."""
    kinds = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
    return [p.name for p in inspect.signature(fn).parameters.values() if p.kind not in kinds][skip:]


def signatures(stats):
    for name in sorted(tl.nn.__all__):
        ours, theirs = getattr(tl.nn, name), getattr(torch.nn, name, None)
        if not isinstance(ours, type) or not isinstance(theirs, type) or (ONLY and name not in ONLY):
            continue
        if not issubclass(theirs, torch.nn.Module) or theirs.forward is torch.nn.Module.forward:
            continue  # Parameter; containers, whose forward PyTorch leaves undefined
        for method in ("__init__", "forward"):
            a, b = names_of(getattr(ours, method)), names_of(getattr(theirs, method))
            stats["signatures"] += 1
            if a[: len(b)] != b and b:
                stats["bad"] += 1
                print(f"{name}.{method}: ours {a} vs {b}", flush=True)
    for name in sorted(n for n in dir(tl.nn.functional) if not n.startswith("_")):  # and nn.functional's
        ours, theirs = getattr(tl.nn.functional, name), getattr(torch.nn.functional, name, None)
        if isinstance(ours, type) or not callable(ours) or not callable(theirs) or (ONLY and name not in ONLY):
            continue
        try:
            a, b = names_of(ours, skip=0), names_of(theirs, skip=0)
        except ValueError:  # a builtin without a signature
            continue
        stats["signatures"] += 1
        if a[: len(b)] != b:
            stats["bad"] += 1
            print(f"F.{name}: ours {a} vs {b}", flush=True)


def main():
    stats = Counter()
    if MODE == "signatures":
        signatures(stats)
        print(dict(stats))
        return
    for mi in module_db:
        name = mi.module_cls.__name__
        if not hasattr(tl.nn, name) or (ONLY and name not in ONLY):
            continue
        if DT not in mi.supported_dtypes("cpu"):
            continue
        for training in (True, False) if mi.train_and_eval_differ else (True,):
            mode = "train" if training else "eval"
            if MODE == "errors":
                if mi.module_error_inputs_func is None:
                    continue
                samples = mi.module_error_inputs_func(mi, device="cpu", dtype=DT, requires_grad=True, training=training)
                runner = run_error
            else:
                samples = mi.module_inputs_func(mi, device="cpu", dtype=DT, requires_grad=True, training=training)
                runner = compiled if MODE == "compile" else run_sample
            for i, s in enumerate(samples):
                stats["samples"] += 1
                try:
                    msg = runner(mi, s, training, stats)
                except Exception as e:
                    msg = f"PROBE ERROR {type(e).__name__}: {str(e)[:120]}"
                if msg:
                    stats["bad"] += 1
                    si = s.module_error_input if MODE == "errors" else s
                    desc = si.desc or ""
                    ci = si.constructor_input
                    line = f"{name}[{mode}] #{i} {desc} {ci.args} {ci.kwargs}: {msg}"
                    print(" ".join(line.split())[:400], flush=True)
    print(dict(stats))


main()
