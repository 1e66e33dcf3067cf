"""Docstrings a reader can use: help() documents arguments and shapes, every Tensor method says what
it does, and no section-divider comment stands in for a missing docstring."""

import inspect
import pydoc

import pytest

import tinygrad_lstm as tl


def test_help_on_lstm_documents_every_argument_and_the_shapes():
    text = pydoc.render_doc(tl.nn.LSTM, renderer=pydoc.plaintext)
    for arg in inspect.signature(tl.nn.LSTM.__init__).parameters:
        if arg != "self":
            assert f"{arg}:" in text or f"``{arg}" in text, arg
    for row in ("input ", "h_0 ", "c_0 ", "output ", "h_n, c_n"):
        assert row in text, row


def test_every_public_tensor_method_and_property_has_a_docstring():
    missing = []
    for name, attr in vars(tl.Tensor).items():
        fn = attr.fget if isinstance(attr, property) else attr
        if not name.startswith("_") and callable(fn) and not (fn.__doc__ or "").strip():
            missing.append(name)
    assert not missing


@pytest.mark.parametrize("obj", [tl.Tensor, tl.nn.Module, tl.nn.LSTM, tl.optim.Adam, tl.Tape, tl.BackwardTrace])
def test_no_section_divider_comment_shows_up_as_documentation(obj):
    text = pydoc.render_doc(obj, renderer=pydoc.plaintext)
    assert "# ----" not in text


def test_help_on_compile_says_what_it_cannot_compile_with_an_example():
    doc = tl.compile.__doc__
    assert "cannot compile" in doc and "loss.backward()" in doc and ">>>" in doc
