"""tl.Function: a user's own primitive, in the tape, the trace, the pictures and gradcheck."""

import numpy as np
import pytest

import tinygrad_lstm as tl


class SigmoidTimes(tl.Function):
    @staticmethod
    def forward(ctx, x, y):
        ctx.save_for_backward(x, y)
        return x.sigmoid() * y

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved_tensors
        s = x.sigmoid()
        return g * y * s * (1 - s), g * s


class Scale(tl.Function):
    """A non-tensor argument gets None as its gradient; NumPy work inside forward is fine."""

    @staticmethod
    def forward(ctx, x, factor: float):
        ctx.factor = factor
        return np.asarray(x.data * factor)

    @staticmethod
    def backward(ctx, g):
        return g * ctx.factor, None


def leaves(seed=0):
    rng = np.random.default_rng(seed)
    return (
        tl.tensor(rng.standard_normal((3, 4)), requires_grad=True).named("x"),
        tl.tensor(rng.standard_normal((3, 4)), requires_grad=True).named("y"),
    )


def test_it_equals_the_composite_and_passes_gradcheck_to_second_order():
    x, y = leaves()
    np.testing.assert_allclose(SigmoidTimes.apply(x, y).data, (x.sigmoid() * y).data, rtol=1e-15)
    assert tl.gradcheck(SigmoidTimes.apply, (x, y))
    assert tl.gradcheck(lambda x, y: (tl.grad((SigmoidTimes.apply(x, y) ** 2).sum(), x, create_graph=True)[0]).sum(),
                        (x, y))  # fmt: skip
    (h,) = tl.grad(tl.grad(SigmoidTimes.apply(x, y).sum(), x, create_graph=True)[0].sum(), x)
    (ref,) = tl.grad(tl.grad((x.sigmoid() * y).sum(), x, create_graph=True)[0].sum(), x)
    np.testing.assert_allclose(h.data, ref.data, rtol=1e-12)
    assert tl.gradcheck(lambda x: Scale.apply(x, 2.5), x)


def test_it_appears_under_its_own_name_in_the_listing_the_trace_and_the_picture():
    x, y = leaves()
    with tl.Tape() as tape:
        loss = (SigmoidTimes.apply(x, y) * 2.0).sum()
    assert "SigmoidTimes(x, y)" in str(tape)
    with tl.trace_backward() as trace:
        loss.backward()
    assert "SigmoidTimes" in str(trace)
    assert "<b>SigmoidTimes</b>" in tl.viz.draw(tape, view="op", trace=trace).source


def test_wrong_gradients_are_named():
    class TooFew(SigmoidTimes):
        @staticmethod
        def backward(ctx, g):
            return g

    class WrongShape(SigmoidTimes):
        @staticmethod
        def backward(ctx, g):
            return g.sum(), g

    x, y = leaves()
    with pytest.raises(RuntimeError, match=r"TooFew.backward returned 1 gradient\(s\) for the 2 input\(s\)"):
        TooFew.apply(x, y).sum().backward()
    with pytest.raises(RuntimeError, match=r"WrongShape.backward returned a gradient of shape \(\) for input 0 of "
                       r"shape \(3, 4\)"):  # fmt: skip
        WrongShape.apply(x, y).sum().backward()

    class SavesAnArray(SigmoidTimes):
        @staticmethod
        def forward(ctx, x, y):
            ctx.save_for_backward(x.data)
            return x * y

    with pytest.raises(TypeError, match="SavesAnArray.forward: save_for_backward takes tensors"):
        SavesAnArray.apply(x, y)


def test_a_saved_tensor_changed_in_place_and_a_second_backward_are_refused():
    x, y = leaves()
    out = SigmoidTimes.apply(x, y).sum()
    with tl.no_grad():
        y += 1.0
    with pytest.raises(RuntimeError, match="SigmoidTimes .* changed in place"):
        out.backward()
    x, y = leaves()
    out = SigmoidTimes.apply(x, y)
    out.backward(np.ones(out.shape))
    with pytest.raises(RuntimeError, match=r"SigmoidTimes\) was freed by an earlier backward"):
        out.backward(np.ones(out.shape))


def test_needs_input_grad_and_no_recording_without_grad():
    seen = []

    class Probe(SigmoidTimes):
        @staticmethod
        def forward(ctx, x, y):
            seen.append(ctx.needs_input_grad)
            return SigmoidTimes.forward(ctx, x, y)

    x, y = leaves()
    Probe.apply(x, y.detach())
    assert seen == [(True, False)]
    with tl.no_grad():
        assert Probe.apply(x, y).grad_fn is None


def test_compile_refuses_it_by_name():
    x, w = leaves()
    step = tl.compile(lambda x: SigmoidTimes.apply(x, w).sum())
    with pytest.raises(tl.CompileError, match="SigmoidTimes"):
        step(x.detach())


def _in_place_double(L):
    class Double(L.autograd.Function):
        """x *= 2 in place, the output the input itself (PyTorch's mark_dirty)."""

        @staticmethod
        def forward(ctx, x):
            ctx.mark_dirty(x)
            x.mul_(2)
            return x

        @staticmethod
        def backward(ctx, g):
            return g * 2

    return Double


def test_mark_dirty_makes_the_input_the_output_with_this_functions_history_as_pytorch():
    """``ctx.mark_dirty`` was missing (an AttributeError): PyTorch's way to write a Function that
    changes its input in place."""
    torch = pytest.importorskip("torch")
    found = []
    for L in (torch, tl):
        x = L.tensor(np.array([1.0, -2.0, 0.5]), requires_grad=True)
        z = x * 1.5
        earlier = z[1:]  # a view made before the change: it sees the new values, and their history
        y = _in_place_double(L).apply(z)
        (y * y * L.tensor(np.array([1.0, 2.0, 3.0]))).sum().backward(retain_graph=True)
        (earlier * earlier).sum().backward()
        found.append((y is z, y.tolist(), earlier.tolist(), x.grad.tolist()))
    assert found[0] == found[1] and found[1][0]
    for L in (torch, tl):  # a value saved before the change is refused at backward, as PyTorch's
        x = L.tensor(np.array([1.0, -2.0]), requires_grad=True)
        z = x * 1.0
        e = z.sin()  # sin keeps its input for its gradient
        _in_place_double(L).apply(z)
        with pytest.raises(RuntimeError):
            e.sum().backward()


def test_mark_dirty_of_a_leaf_that_requires_grad_is_refused_before_it_changes():
    x = tl.tensor(np.array([1.0, 2.0]), requires_grad=True)
    with pytest.raises(RuntimeError, match=r"Double.forward: a leaf tensor that requires grad \(shape \(2,\)\)"):
        _in_place_double(tl).apply(x)
    assert x.tolist() == [1.0, 2.0]


def test_backward_may_return_trailing_nones_for_optional_inputs_not_given_as_pytorch():
    """PyTorch's "Extending" tutorial: ``LinearFunction.apply(x, w)`` with ``forward(x, w, bias=None)``
    and a backward that returns three gradients, the last None. A fourth that is not None is refused."""

    class Scale(tl.Function):
        @staticmethod
        def forward(ctx, x, k=None):
            return x * 2.0

        @staticmethod
        def backward(ctx, g):
            return g * 2.0, None

    x = tl.tensor(np.array([1.0, 3.0]), requires_grad=True)
    Scale.apply(x).sum().backward()
    assert x.grad.tolist() == [2.0, 2.0]

    class TooMany(Scale):
        @staticmethod
        def backward(ctx, g):
            return g * 2.0, g

    with pytest.raises(RuntimeError, match=r"TooMany.backward returned 2 gradient\(s\) for the 1 input\(s\)"):
        TooMany.apply(x).sum().backward()


def _functions_that_save_their_outputs(L):
    class Exp(L.autograd.Function):
        """PyTorch's documentation example: backward reads the saved output."""

        @staticmethod
        def forward(ctx, x):
            result = x.exp()
            ctx.save_for_backward(result)
            return result

        @staticmethod
        def backward(ctx, g):
            (result,) = ctx.saved_tensors
            return g * result

    class MyCube(L.autograd.Function):
        """PyTorch's double-backward example: an output (dx) saved and differentiated through."""

        @staticmethod
        def forward(x):
            return x**3, 3 * x**2

        @staticmethod
        def setup_context(ctx, inputs, output):
            ctx.save_for_backward(inputs[0], output[1])

        @staticmethod
        def backward(ctx, grad_output, grad_dx):
            x, dx = ctx.saved_tensors
            return grad_output * dx + grad_dx * 6 * x

    return Exp, MyCube


def test_saved_outputs_are_differentiated_through_under_create_graph_as_pytorch():
    """A Function that saved its own output gave a second derivative without that output's path: 0
    for PyTorch's Exp example where PyTorch gives exp(x); MyCube's was wrong the same way."""
    torch = pytest.importorskip("torch")
    found = []
    for L in (torch, tl):
        exp, cube = _functions_that_save_their_outputs(L)
        x = L.tensor(np.array([0.5, -1.0, 2.0]), requires_grad=True)
        y = exp.apply(x).sum() + cube.apply(x)[0].sum()
        (g,) = L.autograd.grad(y, x, create_graph=True)
        (h,) = L.autograd.grad((g * g).sum(), x)
        found.append((g.tolist(), h.tolist()))
    np.testing.assert_allclose(found[1], found[0], rtol=1e-12)
    exp, cube = _functions_that_save_their_outputs(tl)
    x = tl.tensor(np.array([0.5, -1.0]), requires_grad=True)
    assert tl.autograd.gradgradcheck(exp.apply, (x,)) and tl.autograd.gradgradcheck(lambda a: cube.apply(a)[0], (x,))


_FROM_OUTPUT = {  # a primitive, and its derivative written from its output alone
    "exp": (lambda x: x.exp(), lambda y: y),
    "tanh": (lambda x: x.tanh(), lambda y: 1 - y * y),
    "sigmoid": (lambda x: x.sigmoid(), lambda y: y * (1 - y)),
    "sqrt": (lambda x: x.sqrt(), lambda y: 0.5 / y),
}


@pytest.mark.parametrize("name", sorted(_FROM_OUTPUT))
def test_a_function_whose_backward_reads_its_output_differentiates_twice_as_the_primitive(name):
    """Each op rewritten as a tl.Function that saves its own output: its first and second derivatives
    (through create_graph) equal the built-in primitive's, which are compared with PyTorch elsewhere."""
    forward, slope = _FROM_OUTPUT[name]

    class FromOutput(tl.Function):
        @staticmethod
        def forward(ctx, x):
            y = forward(x)
            ctx.save_for_backward(y)
            return y

        @staticmethod
        def backward(ctx, g):
            (y,) = ctx.saved_tensors
            return g * slope(y)

    found = []
    for f in (FromOutput.apply, forward):
        x = tl.tensor(np.array([0.3, 1.2, 2.0]), requires_grad=True)
        (g,) = tl.grad((f(x) ** 2).sum(), x, create_graph=True)
        (h,) = tl.grad((g * g).sum(), x)
        found.append((g.numpy().copy(), h.numpy().copy()))
    for ours, expected in zip(*found):
        np.testing.assert_allclose(ours, expected, rtol=1e-12, atol=1e-12)
