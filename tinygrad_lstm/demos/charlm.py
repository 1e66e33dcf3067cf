"""A character-level LSTM language model trained with truncated BPTT.

The text is one every Python install has: the Zen of Python and the docstrings of a fixed list of
standard-library modules (or ``--text FILE``). The model reads B parallel streams of the text in
chunks of L characters, carrying (h, c) from chunk to chunk with ``detach_state`` so each backward
stops at the chunk boundary. Reported: bits per character on held-out text, and samples.
"""

from __future__ import annotations

import argparse
import codecs
import contextlib
import importlib
import inspect
import io
import math
import warnings

import numpy as np

from .. import nn, optim
from ..nn import functional as F
from ..random import manual_seed
from ..tape import no_grad
from .run import Run


def text_file(path: str) -> str:
    """``--text``'s type: the file's text, refused in one line if it cannot be read or modelled."""
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except (OSError, UnicodeDecodeError) as e:
        raise argparse.ArgumentTypeError(f"{path}: {getattr(e, 'strerror', None) or e}") from None
    if len(set(text)) < 2:
        raise argparse.ArgumentTypeError(f"{path}: needs at least two different characters to model")
    return text


OPTIONS = {"--text": {"type": text_file, "default": None, "help": "train on this UTF-8 text file instead"}}

STDLIB_MODULES = (
    "this",
    "textwrap",
    "json",
    "argparse",
    "collections",
    "functools",
    "itertools",
    "pathlib",
    "dataclasses",
    "heapq",
    "bisect",
    "contextlib",
    "string",
    "difflib",
    "fractions",
    "decimal",
    "statistics",
    "random",
    "shlex",
    "calendar",
    "csv",
    "pprint",
    "enum",
    "typing",
    "unittest",
)


def default_text() -> str:
    """The Zen of Python, then the docstrings of a fixed list of standard-library modules and of the
    public functions and classes they define (a few hundred kilobytes of English about code)."""
    with contextlib.redirect_stdout(io.StringIO()):  # importing `this` prints the Zen
        import this
    parts = [codecs.decode(this.s, "rot13")]
    for name in STDLIB_MODULES[1:]:
        module = importlib.import_module(name)
        parts.append(inspect.cleandoc(module.__doc__ or ""))
        with warnings.catch_warnings():  # reading typing.io and typing.re warns that they are deprecated
            warnings.simplefilter("ignore", DeprecationWarning)
            for attr in sorted(dir(module)):
                obj = getattr(module, attr)
                if attr.startswith("_") or getattr(obj, "__module__", None) != name:
                    continue
                if inspect.isfunction(obj) or inspect.isclass(obj):
                    parts.append(inspect.cleandoc(obj.__doc__ or ""))
    return "\n\n".join(p for p in parts if p)


def split_paragraphs(text: str, every: int = 10) -> tuple[str, str]:
    """Every ``every``-th paragraph held out, so both parts come from the same mix of modules."""
    paragraphs = text.split("\n\n")
    held = [p for k, p in enumerate(paragraphs) if k % every == every - 1]
    kept = [p for k, p in enumerate(paragraphs) if k % every != every - 1]
    return "\n\n".join(kept), "\n\n".join(held)


class CharLM(nn.Module):
    def __init__(self, vocab: int, embed: int = 24, hidden: int = 96) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab, embed)
        self.lstm = nn.LSTM(embed, hidden, forget_bias=1.0)
        self.head = nn.Linear(hidden, vocab)

    def forward(self, ids: np.ndarray, state=None):
        out, state = self.lstm(self.embed(ids), state)  # ids (L, B) -> (L, B, E) -> (L, B, H)
        return self.head(out), state


def bits_per_char(model: CharLM, ids: np.ndarray, chunk: int = 100, streams: int = 16) -> float:
    """Mean -log2 p(next char) over ``ids``, read as ``streams`` parallel streams carrying their state."""
    length = (len(ids) - 1) // streams
    x_all = ids[: length * streams].reshape(streams, length).T
    y_all = ids[1 : length * streams + 1].reshape(streams, length).T
    total, state = 0.0, None
    with no_grad():
        for start in range(0, length, chunk):
            x, y = x_all[start : start + chunk], y_all[start : start + chunk]
            logits, state = model(x, state)
            total += float(F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1), reduction="sum"))
    return total / (length * streams) / math.log(2)


def sample(model: CharLM, chars: list[str], prompt: str, length: int, temperature: float, rng) -> str:
    index = {c: i for i, c in enumerate(chars)}
    state, out = None, list(prompt)
    with no_grad():
        logits, state = model(np.array([[index.get(c, 0)] for c in prompt]), state)
        for _ in range(length):
            p = (logits.data[-1, 0] / temperature).astype(np.float64)
            p = np.exp(p - p.max())
            nxt = int(rng.choice(len(chars), p=p / p.sum()))
            out.append(chars[nxt])
            logits, state = model(np.array([[nxt]]), state)
    return "".join(out)


def run(run: Run, text: str | None = None) -> dict:
    text = text if text is not None else default_text()
    chars = sorted(set(text))
    index = {c: i for i, c in enumerate(chars)}
    train_text, valid_text = split_paragraphs(text)
    train_ids = np.array([index[c] for c in train_text], dtype=np.int64)
    valid_ids = np.array([index[c] for c in valid_text], dtype=np.int64)
    if run.quick:
        steps, chunk, batch, hidden = 120, 24, 16, 64
        valid_ids = valid_ids[:4000]
    else:
        steps, chunk, batch, hidden = 1000, 48, 32, 128
    run.say(
        f"Character LSTM: {len(text):,} characters, vocabulary {len(chars)}, hidden {hidden}, "
        f"TBPTT chunks of {chunk} x {batch} streams, {steps} Adam steps"
    )
    manual_seed(run.seed)
    model = CharLM(len(chars), hidden=hidden)
    opt = optim.Adam(model.parameters(), lr=3e-3)
    stream_len = len(train_ids) // batch
    streams = train_ids[: stream_len * batch].reshape(batch, stream_len).T  # (time, batch)
    uniform = math.log2(len(chars))
    history, state, pos = [], None, 0
    eval_every = max(1, steps // 10)
    for step in run.progress(range(1, steps + 1), total=steps, desc="charlm"):
        if pos + chunk + 1 > stream_len:
            pos, state = 0, None
        x, y = streams[pos : pos + chunk], streams[pos + 1 : pos + chunk + 1]
        pos += chunk
        opt.zero_grad()
        logits, state = model(x, state)
        loss = F.cross_entropy(logits.reshape(-1, len(chars)), y.reshape(-1))
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        state = nn.utils.detach_state(state)  # truncated BPTT: the next backward stops here
        if step % eval_every == 0 or step == steps:
            history.append((step, float(loss) / math.log(2), bits_per_char(model, valid_ids)))
    final_valid = history[-1][2]
    run.say(
        f"  uniform guess {uniform:.2f} bits/char; after training: train {history[-1][1]:.2f}, "
        f"held-out {final_valid:.2f} bits/char"
    )
    rng = np.random.default_rng(run.seed)
    samples = {t: sample(model, chars, "The ", 160 if not run.quick else 60, t, rng) for t in (0.5, 1.0)}
    for t, s in samples.items():
        run.say(f"\n  sample at temperature {t}:\n  " + s.replace("\n", "\n  "))
    fig_ax = run.figure(figsize=(7, 4))
    if fig_ax is not None:
        fig, ax = fig_ax
        steps_, train_bpc, valid_bpc = zip(*history)
        ax.plot(steps_, train_bpc, label="train (last batch)")
        ax.plot(steps_, valid_bpc, label="held-out")
        ax.axhline(uniform, color="k", ls=":", label="uniform guess")
        ax.set_xlabel("Adam step")
        ax.set_ylabel("bits per character")
        ax.set_title("Character-level LSTM, truncated BPTT")
        ax.legend()
        run.save_figure(fig, "charlm_bpc.png")
    (run.out / "charlm_samples.txt").write_text("\n\n".join(f"T={t}:\n{s}" for t, s in samples.items()))
    run.wrote(run.out / "charlm_samples.txt")
    run.results.update(
        {
            "chars": len(text),
            "vocab": len(chars),
            "uniform_bpc": uniform,
            "valid_bpc": final_valid,
            "first_valid_bpc": history[0][2],
            "history": history,
        }
    )
    return run.results
