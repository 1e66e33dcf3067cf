"""PyTorch's OpInfo sample inputs through this engine: a differential probe beside the test suite.

    pip install expecttest      # torch.testing's op database imports it
    python benchmarks/opinfo_probe.py second [NAME...]    # float64: value, gradient, second order
    python benchmarks/opinfo_probe.py float32 [NAME...]   # float32: the result's and each gradient's dtype
    python benchmarks/opinfo_probe.py inplace [NAME...]   # the in-place variants, on a non-leaf
    python benchmarks/opinfo_probe.py compile [NAME...]   # tl.compile over four calls against eager
    python benchmarks/opinfo_probe.py compile_inplace     # the in-place variants, then reads without a gradient

Each op of ``op_db`` whose name this engine has (``tl.NAME``, ``tl.nn.functional.NAME``, ``tl.linalg.NAME``
or a Tensor method) runs on the op's own sample inputs (``NS`` of them, 12 by default) in both libraries;
a line is printed for each sample that differs, or that this engine refuses where PyTorch computes, and
the counts at the end. Not a test: some lines are the probe's own limits, not the engine's (ops whose
OpInfo wraps the call in a lambda with another argument order, such as ``where``, ``einsum`` and
``embedding``; random ops; properties like ``T``; a gradient PyTorch marks as requiring grad although it
does not depend on the input (a linear op's, at second order)). What it found became tests
(``tests/test_opinfo_probes.py``, ``tests/test_in_place_twins.py``, ``tests/test_compile_inplace.py``).
"""

import os
import sys
import warnings
from collections import Counter

import numpy as np
import torch
from torch.testing._internal.common_methods_invocations import op_db
from torch_values import flat, npy, to_tl

import tinygrad_lstm as tl

warnings.filterwarnings("ignore")
torch.set_default_dtype(torch.float64)
MODE = sys.argv[1] if len(sys.argv) > 1 else "second"
ONLY = sys.argv[2:]


def resolve(name):
    parts = name.split(".")
    obj = tl
    if parts[0] == "nn":
        obj = tl.nn
        parts = parts[1:]
    for p in parts:
        obj = getattr(obj, p, None)
        if obj is None:
            return None
    return obj


# ops whose OpInfo calls them with the input first (lambda x, n: torch.polygamma(n, x)): ours in PyTorch's order
INPUT_FIRST = {"polygamma", "special.polygamma"}


def method(name):
    return name if hasattr(tl.Tensor, name) else None


def outputs_of(out, is_torch):
    cls = torch.Tensor if is_torch else tl.Tensor
    return [o for o in flat(out) if isinstance(o, cls)]


def converted(s):
    """A sample's input, args and kwargs as this engine's, and the (torch, tl) pairs that require grad."""
    tleaves = []
    return tleaves, to_tl(s.input, tleaves), to_tl(list(s.args), tleaves), to_tl(dict(s.kwargs), tleaves)


def close(a, b, tol=1e-7):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        return False
    return np.allclose(a, b, rtol=tol, atol=tol, equal_nan=True)


def call(fn_tl, is_method, inp, args, kwargs):
    if is_method:
        return getattr(inp, fn_tl)(*args, **kwargs)
    return fn_tl(inp, *args, **kwargs)


def second_order(op, fn, is_method, s, stats):
    tleaves, inp, args, kwargs = converted(s)
    # torch side
    tin = [v for v, _ in tleaves]
    try:
        tout = op.op(s.input, *s.args, **s.kwargs)
        touts = [o for o in outputs_of(tout, True) if o.requires_grad and o.dtype.is_floating_point]
        if not touts or not tin:
            stats["no-grad"] += 1
            return None
        rng = np.random.default_rng(0)
        ws = [torch.tensor(rng.standard_normal(o.shape)) for o in touts]
        L = sum((o * w).sum() for o, w in zip(touts, ws))
        g = torch.autograd.grad(L, tin, create_graph=True, allow_unused=True)
        vs = [torch.tensor(rng.standard_normal(x.shape)) for x in tin]
        gl = [gi for gi in g if gi is not None and gi.requires_grad]
        if gl:
            L2 = sum((gi * v).sum() for gi, v in zip(g, vs) if gi is not None and gi.requires_grad)
            g2 = torch.autograd.grad(L2, tin, allow_unused=True)
        else:
            g2 = None
    except Exception:
        stats["torch-refuses"] += 1
        return None
    try:
        out = call(fn, is_method, inp, args, kwargs)
        outs = [o for o in outputs_of(out, False) if o.requires_grad]
        xs = [t for _, t in tleaves]
        if len(outs) != len(touts):
            return f"n outputs {len(outs)} vs {len(touts)}"
        for o, to in zip(outs, touts):
            if not close(npy(o), npy(to)):
                return f"VALUE differs {np.asarray(npy(o)).ravel()[:4]} vs {npy(to).ravel()[:4]}"
        L = sum((o * tl.tensor(w.numpy())).sum() for o, w in zip(outs, ws))
        gg = tl.grad(L, xs, create_graph=True, allow_unused=True)
        for a, b in zip(gg, g):
            if (a is None) != (b is None):
                if a is not None and b is None and np.all(npy(a) == 0):
                    continue
                return f"GRAD None-ness differs ours={a is None}"
            if a is not None and not close(npy(a), npy(b)):
                return f"GRAD differs {npy(a).ravel()[:4]} vs {npy(b).ravel()[:4]}"
        if g2 is None:
            stats["first-ok"] += 1
            return None
        terms = [
            (gi * tl.tensor(v.numpy())).sum()
            for gi, v, tg in zip(gg, vs, g)
            if tg is not None and tg.requires_grad and gi is not None
        ]
        if not any(gi is not None and gi.requires_grad for gi in gg):
            return "SECOND: our gradient does not require grad"
        L2 = sum(terms)
        gg2 = tl.grad(L2, xs, allow_unused=True)
        for a, b in zip(gg2, g2):
            an = a is None or np.all(npy(a) == 0)
            bn = b is None or np.all(npy(b) == 0)
            if an and bn:
                continue
            if a is None or b is None or not close(npy(a), npy(b)):
                ours, theirs = (None if v is None else npy(v).ravel()[:4] for v in (a, b))
                return f"SECOND differs {ours} vs {theirs}"
        stats["second-ok"] += 1
    except Exception as e:
        return f"REFUSES {type(e).__name__}: {str(e)[:150]}"
    return None


def compiled(op, fn, is_method, s, stats):
    """The sample's tensors that require grad become parameters (closure); three calls, perturbing them between."""
    tleaves, inp, args, kwargs = converted(s)
    xs = [t for _, t in tleaves]
    if not xs:
        stats["no-grad"] += 1
        return None
    try:
        out = call(fn, is_method, inp, args, kwargs)
        outs = [o for o in outputs_of(out, False) if o.requires_grad]
    except Exception:
        stats["eager-refuses"] += 1
        return None
    if not outs:
        stats["no-grad"] += 1
        return None
    rng = np.random.default_rng(0)
    ws = [rng.standard_normal(o.shape) for o in outs]

    def loss():
        out = call(fn, is_method, inp, args, kwargs)
        outs = [o for o in outputs_of(out, False) if o.requires_grad]
        return sum((o * w).sum() for o, w in zip(outs, ws))

    for exact in (True, False):
        for p in xs:
            p.grad = None
        step = tl.compile(loss, exact=exact)
        start = [p.data.copy() for p in xs]
        for call_no in range(4):
            for p in xs:
                p.grad = None
            try:
                L = step()
                L.backward()
            except tl.CompileError as e:
                if any(not np.array_equal(p.data, s0, equal_nan=True) for p, s0 in zip(xs, start)) or any(
                    p.grad is not None for p in xs
                ):
                    return f"REFUSED AFTER CHANGING (call {call_no}): {e}"
                stats["compile-refuses"] += 1
                return None
            except Exception as e:
                return f"COMPILE CRASH call {call_no} {type(e).__name__}: {str(e)[:200]}"
            got = [None if p.grad is None else p.grad.data.copy() for p in xs]
            gotL = np.asarray(L.data).copy()
            for p in xs:
                p.grad = None
            with warnings.catch_warnings():
                L2 = loss()
                L2.backward()
            want = [None if p.grad is None else p.grad.data.copy() for p in xs]
            if not np.array_equal(gotL, L2.data, equal_nan=True) and not (not exact and close(gotL, L2.data, 1e-12)):
                return f"REPLAY LOSS differs call {call_no} exact={exact}: {gotL} vs {L2.data}"
            for a, b in zip(got, want):
                if (a is None) != (b is None):
                    return f"REPLAY GRAD None-ness call {call_no}"
                if a is not None:
                    same = np.array_equal(a, b, equal_nan=True) if exact else close(a, b, 1e-10)
                    if not same:
                        return f"REPLAY GRAD differs call {call_no} exact={exact}: {a.ravel()[:4]} vs {b.ravel()[:4]}"
            # perturb the parameters in place, as an optimizer would
            for p in xs:
                if np.issubdtype(p.data.dtype, np.floating):
                    p.data[...] = p.data + 0.01 * (call_no + 1) * rng.standard_normal(p.data.shape)
        stats["compile-ok"] += 1
    return None


def float32(op, fn, is_method, s, stats):
    """float32 samples: the result's dtype and each gradient's dtype as PyTorch's; values to 1e-4."""
    tleaves, inp, args, kwargs = converted(s)
    tin = [v for v, _ in tleaves]
    try:
        tout = op.op(s.input, *s.args, **s.kwargs)
        touts = outputs_of(tout, True)
    except Exception:
        stats["torch-refuses"] += 1
        return None
    try:
        out = call(fn, is_method, inp, args, kwargs)
        outs = outputs_of(out, False)
    except Exception as e:
        return f"REFUSES {type(e).__name__}: {str(e)[:150]}"
    if len(outs) != len(touts):
        return f"n outputs {len(outs)} vs {len(touts)}"
    for o, to in zip(outs, touts):
        if str(o.dtype) != str(to.dtype).removeprefix("torch."):
            return f"DTYPE {o.dtype} vs {to.dtype}"
        if not close(npy(o), npy(to), 1e-4):
            return f"VALUE differs {np.asarray(npy(o)).ravel()[:4]} vs {npy(to).ravel()[:4]}"
    gouts = [(o, to) for o, to in zip(outs, touts) if to.requires_grad and o.requires_grad]
    if not gouts or not tin:
        stats["f32-ok"] += 1
        return None
    rng = np.random.default_rng(0)
    ws = [rng.standard_normal(to.shape).astype(np.float32) for _, to in gouts]
    g = torch.autograd.grad(sum((to * torch.tensor(w)).sum() for (_, to), w in zip(gouts, ws)), tin, allow_unused=True)
    gg = tl.grad(sum((o * w).sum() for (o, _), w in zip(gouts, ws)), [t for _, t in tleaves], allow_unused=True)
    for a, b in zip(gg, g):
        if a is None or b is None:
            continue
        if str(a.dtype) != str(b.dtype).removeprefix("torch."):
            return f"GRAD DTYPE {a.dtype} vs {b.dtype}"
        if not close(npy(a), npy(b), 1e-3):
            return f"GRAD differs {npy(a).ravel()[:4]} vs {npy(b).ravel()[:4]}"
    stats["f32-ok"] += 1
    return None


def inplace(op, fn, is_method, s, stats):
    """x = leaf * 1 (a non-leaf), x.op_(...) in both; the values and every leaf's gradient as PyTorch's."""
    if op.inplace_variant is None or not isinstance(s.input, torch.Tensor):
        stats["no-inplace"] += 1
        return None
    name = op.name.split(".")[-1] + "_"
    if not hasattr(tl.Tensor, name):
        stats["inplace-missing"] += 1
        print(f"MISSING METHOD {name}")
        return None
    tleaves, inp, args, kwargs = converted(s)
    tin = [v for v, _ in tleaves]
    try:
        tx = s.input * 1 if s.input.requires_grad else s.input.clone()
        op.inplace_variant(tx, *s.args, **s.kwargs)
    except Exception:
        stats["torch-refuses"] += 1
        return None
    try:
        x = inp * 1 if inp.requires_grad else inp.clone()
        out = getattr(x, name)(*args, **kwargs)
    except Exception as e:
        return f"REFUSES {type(e).__name__}: {str(e)[:150]}"
    if out is not x:
        return "does not return self"
    if str(x.dtype) != str(tx.dtype).removeprefix("torch.") or not close(npy(x), npy(tx)):
        return f"VALUE differs {np.asarray(npy(x)).ravel()[:4]} vs {npy(tx).ravel()[:4]}"
    if not tx.requires_grad or not tin:
        stats["inplace-ok"] += 1
        return None
    w = np.random.default_rng(0).standard_normal(tx.shape)
    g = torch.autograd.grad((tx * torch.tensor(w)).sum(), tin, allow_unused=True)
    if not x.requires_grad:
        return "result does not require grad"
    gg = tl.grad((x * w).sum(), [t for _, t in tleaves], allow_unused=True)
    for a, b in zip(gg, g):
        if (a is None) != (b is None) and not (a is not None and np.all(npy(a) == 0)):
            return f"GRAD None-ness ours={a is None}"
        if a is not None and b is not None and not close(npy(a), npy(b)):
            return f"GRAD differs {npy(a).ravel()[:4]} vs {npy(b).ravel()[:4]}"
    stats["inplace-ok"] += 1
    return None


def compiled_inplace(op, fn, is_method, s, stats):
    """tl.compile over x = leaf * 1; x.name_(...); then reads of x without a gradient (a mask, a detached max)."""
    if op.inplace_variant is None or not isinstance(s.input, torch.Tensor) or not s.input.dtype.is_floating_point:
        return None
    name = op.name.split(".")[-1] + "_"
    if not hasattr(tl.Tensor, name):
        return None

    def method_call(x, *args, **kwargs):
        y = x * 1
        getattr(y, name)(*args, **kwargs)
        return y + tl.where(y > 0, y, y * 0.5) - y.detach().mean()

    return compiled(op, method_call, False, s, stats)


def main():
    stats = Counter()
    for op in op_db:
        name = op.name
        if ONLY and not any(o in name for o in ONLY):
            continue
        DT = torch.float32 if MODE == "float32" else torch.float64
        if DT not in op.supported_dtypes("cpu") or not op.supports_autograd:
            continue
        fn = resolve(name)
        if name in INPUT_FIRST and fn is not None:
            fn = (lambda f: lambda x, n, **kwargs: f(n, x, **kwargs))(fn)
        is_method = False
        if fn is None or not callable(fn):
            m = method(name)
            if m is None:
                stats["missing"] += 1
                if ONLY:
                    print(f"{name}: missing")
                continue
            fn, is_method = m, True
        try:
            samples = list(op.sample_inputs("cpu", DT, requires_grad=True))
        except Exception:
            continue
        for i, s in enumerate(samples[: int(os.environ.get("NS", "12"))]):
            try:
                msg = {
                    "second": second_order,
                    "compile": compiled,
                    "float32": float32,
                    "inplace": inplace,
                    "compile_inplace": compiled_inplace,
                }[MODE](op, fn, is_method, s, stats)
            except Exception as e:
                msg = f"PROBE ERROR {type(e).__name__}: {str(e)[:120]}"
            if msg:
                stats["bad"] += 1
                print(
                    f"{name}[{op.variant_test_name}] #{i}: {msg}  | {s.summary() if hasattr(s, 'summary') else ''}"[
                        :400
                    ],
                    flush=True,
                )
    print(dict(stats))


main()
