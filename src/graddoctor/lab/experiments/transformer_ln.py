"""E5e – Xiong et al. 2020, On Layer Normalization in the Transformer Architecture: Post-LN vs Pre-LN at init.

Reads top to bottom:

1. Lemma 1 and Lemma 2 of the paper by Monte-Carlo: E||ReLU(X)||^2 = sigma^2 d / 2; a Post-LN block's
   E||x^{post,5}||^2 = 3d/2; in a Pre-LN stack (1 + l/2) d <= E||x_l||^2 <= (1 + 3l/2) d.
2. The paper's model at small size: an L-L encoder-decoder transformer (its Fig. 3 uses a 6-6 IWSLT14 De-En
   model) built the way fairseq builds it: Xavier-uniform weights (q, k, v with gain 1/sqrt(2)), zero biases,
   token embeddings N(0, 1/d) multiplied by sqrt(d), sinusoidal positions, the output projection tied to the
   embedding, label-smoothed (0.1) cross-entropy. The "translation" is synthetic: a source sentence drawn
   from a fixed sparse Markov chain, the target is the source reversed (teacher forcing, a BOS token). At
   init, for every layer's second FFN matrix W^{2,l}: the norm of the batch-averaged gradient (the paper's
   "expected gradient"), averaged over inits. d = 64, 4 heads, FFN 256 for the depth sweep L in
   {2, 4, 6, 8, 12} (Theorem 1, Fig. 3c, d); in full mode also the 6-6 profile at the paper's IWSLT size
   d = 512, FFN 1024, 4 heads (Fig. 3a, b).
3. The doctor (``gd.check``) on the Post-LN model at L = 6, the configuration the paper calls unstable
   without warm-up; the remedy is Pre-LN. We report what the diagnosis says, whatever it says.

Why an encoder-decoder: the per-layer growth of Fig. 3(a) comes from the decoder's cross-attention. Each
decoder layer adds W^O W^V mean(encoder output) to the residual stream, which raises the norm entering that
sublayer's LayerNorm (so the LN shrinks the backward signal, Lemma 3), while the cross-attention sends no
gradient back into the decoder's own stream to compensate. An encoder-only or decoder-only stack at init
has forward and backward branch gains that nearly cancel, and its per-layer profile stays flat (measured,
see docs/lab/transformer-ln.md).

Set-up and tolerances: published_results.md §5.5 (and the paper's appendix A.1 for the IWSLT sizes).
"""
from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .. import doctor, figures
from ..base import Check, LabResult

NAME = "transformer-ln"
TITLE = "Post-LN vs Pre-LN transformer: gradient norms by layer at initialisation"
SOURCE = ("Xiong, Yang, He, Zheng, Zheng, Xing, Zhang, Lan, Wang & Liu 2020, On Layer Normalization in the "
          "Transformer Architecture (ICML), arXiv:2002.04745, Theorem 1, Lemmas 1-2, Fig. 3")

#: Captions of the figures on the HTML page (figure file stem -> caption).
FIGURE_CAPTIONS = {
    "transformer-ln-fig3": "Fig. 3 of the paper in miniature. Left: the Frobenius norm of the gradient of each "
                           "FFN's second weight matrix W2 at initialisation in the 6-6 encoder-decoder (layers "
                           "1-6 encoder, 7-12 decoder; solid Post-LN, dashed Pre-LN): Post-LN's grows towards "
                           "the output, Pre-LN's stays nearly flat. Right: the last decoder layer's norm "
                           "against the depth L: about constant for Post-LN, falling like 1/sqrt(L) for "
                           "Pre-LN (Theorem 1).",
}

#: The tiny model and data of §5.5: width, heads, FFN width, vocabulary (token 0 is BOS), length, batch.
D, HEADS, FFN, VOCAB, SEQ, BATCH = 64, 4, 256, 100, 32, 32
#: The paper's IWSLT14 sizes (its appendix A.1: embedding 512, FFN 1024, 4 heads), used for the full-mode
#: per-layer profile; 16 sentences of 32 tokens per batch keep it to about a minute of CPU.
PAPER_D, PAPER_FFN, PAPER_BATCH = 512, 1024, 16
#: Inits x batches averaged for the d = 512 profile (full mode only).
PAPER_INITS, PAPER_BATCHES = 3, 4
#: Label smoothing of the paper's objective (appendix A.1).
LABEL_SMOOTHING = 0.1
#: Successors per token in the Markov chain that generates the source sentences.
MARKOV_BRANCHING = 4
#: Depths compared (Fig. 3c, d compare 6-6 ... 14-14 models; §5.5 proposes 2 ... 12).
DEPTHS = (2, 4, 6, 8, 12)
#: The depth whose per-layer profile is checked (the paper's Fig. 3a, b use the 6-6 model).
PROFILE_DEPTH = 6
#: Batches averaged per measurement (quick, full). §5.5 proposes 20; at init the gradient hardly changes from
#: batch to batch (the norm of the batch-averaged gradient is within 3 % of the mean norm), so 10 suffice.
BATCHES = {True: 3, False: 10}
#: Model initialisations averaged per measurement (quick, full).
INITS = {True: 3, False: 10}
#: Post-LN: last/first decoder layer ||dL/dW^2|| at least this (§5.5 (i)).
POST_GROWTH_MIN = 2.0
#: Pre-LN: max/min over decoder layers at most this (§5.5 (i)).
PRE_FLAT_MAX = 2.0
#: Post-LN last-layer norm within this of its mean over L (§5.5 (ii)).
ACROSS_L_REL = 0.30
#: Pre-LN last-layer norm ~ L^-1/2 (Theorem 1 is an upper bound): the fitted log-log slope within this of -1/2.
SLOPE_TOL = 0.25
#: Monte-Carlo samples and relative tolerance for the lemma checks (§5.5 (iii)).
LEMMA_SAMPLES, LEMMA_REL = 1000, 0.05
#: Independent layer initialisations the lemma samples are spread over (the lemma's expectation is over both).
LEMMA_INITS = 8


class Residual(nn.Module):
    """One sublayer with its residual: ``LN(x + f(x))`` (Post-LN) or ``x + f(LN(x))`` (Pre-LN)."""

    def __init__(self, pre: bool, d: int, fn: nn.Module) -> None:
        super().__init__()
        self.pre, self.ln, self.fn = pre, nn.LayerNorm(d), fn

    def forward(self, x: torch.Tensor, *context: torch.Tensor) -> torch.Tensor:
        return x + self.fn(self.ln(x), *context) if self.pre else self.ln(x + self.fn(x, *context))


class FeedForward(nn.Module):
    """``W^2 ReLU(W^1 x)``; ``fc2`` is the paper's W^2."""

    def __init__(self, d: int, ffn: int) -> None:
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(d, ffn), nn.Linear(ffn, d)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(F.relu(self.fc1(x)))


class Attention(nn.Module):
    """Multi-head attention of ``x`` over ``memory`` (itself when none is given; causal if asked)."""

    def __init__(self, d: int, heads: int, causal: bool = False) -> None:
        super().__init__()
        self.mha, self.causal = nn.MultiheadAttention(d, heads, batch_first=True), causal

    def forward(self, x: torch.Tensor, memory: torch.Tensor | None = None) -> torch.Tensor:
        kv = x if memory is None else memory
        mask = None
        if self.causal:
            mask = torch.triu(torch.full((x.shape[1], x.shape[1]), float("-inf")), 1)
        return self.mha(x, kv, kv, attn_mask=mask, need_weights=False)[0]


class EncoderLayer(nn.Module):
    def __init__(self, pre: bool, d: int = D, ffn: int = FFN, heads: int = HEADS) -> None:
        super().__init__()
        self.att, self.ffn = Residual(pre, d, Attention(d, heads)), Residual(pre, d, FeedForward(d, ffn))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.ffn(self.att(x))


class DecoderLayer(nn.Module):
    """Causal self-attention, attention over the encoder output, FFN: three residual sublayers."""

    def __init__(self, pre: bool, d: int = D, ffn: int = FFN, heads: int = HEADS) -> None:
        super().__init__()
        self.att = Residual(pre, d, Attention(d, heads, causal=True))
        self.cross = Residual(pre, d, Attention(d, heads))
        self.ffn = Residual(pre, d, FeedForward(d, ffn))

    def forward(self, x: torch.Tensor, memory: torch.Tensor) -> torch.Tensor:
        return self.ffn(self.cross(self.att(x), memory))


class Seq2Seq(nn.Module):
    """An L-L encoder-decoder as in fairseq: shared token embedding scaled by sqrt(d) + sinusoidal positions,
    a final LayerNorm on encoder and decoder for Pre-LN, output logits through the (tied) embedding."""

    pe: torch.Tensor

    def __init__(self, depth: int, pre: bool, d: int = D, ffn: int = FFN) -> None:
        super().__init__()
        self.d = d
        self.embed = nn.Embedding(VOCAB, d)
        pos = torch.arange(SEQ)[:, None] / (10_000 ** (torch.arange(0, d, 2)[None, :] / d))
        pe = torch.zeros(SEQ, d)
        pe[:, 0::2], pe[:, 1::2] = torch.sin(pos), torch.cos(pos)
        self.register_buffer("pe", pe)
        self.encoder = nn.ModuleList(EncoderLayer(pre, d, ffn) for _ in range(depth))
        self.decoder = nn.ModuleList(DecoderLayer(pre, d, ffn) for _ in range(depth))
        self.enc_final = nn.LayerNorm(d) if pre else nn.Identity()
        self.dec_final = nn.LayerNorm(d) if pre else nn.Identity()

    def tokens(self, t: torch.Tensor) -> torch.Tensor:
        return math.sqrt(self.d) * self.embed(t) + self.pe[: t.shape[1]]

    def forward(self, src: torch.Tensor, tgt_in: torch.Tensor) -> torch.Tensor:
        memory = self.tokens(src)
        for layer in self.encoder:
            memory = layer(memory)
        memory = self.enc_final(memory)
        x = self.tokens(tgt_in)
        for layer in self.decoder:
            x = layer(x, memory)
        return self.dec_final(x) @ self.embed.weight.T

    def w2(self) -> list[torch.Tensor]:
        """The W^2 matrices: encoder layers 1..L, then decoder layers 1..L."""
        return [layer.ffn.fn.fc2.weight for layer in [*self.encoder, *self.decoder]]  # type: ignore[union-attr]


def fairseq_init_(model: nn.Module, d: int) -> None:
    """fairseq's initialisation: Xavier-uniform weights, q/k/v projections with gain 1/sqrt(2), zero biases,
    embeddings N(0, 1/d); LayerNorms keep gamma = 1, beta = 0."""
    for name, p in model.named_parameters():
        if "ln." in name or "final" in name:
            continue
        if name == "embed.weight":
            nn.init.normal_(p, 0.0, d ** -0.5)
        elif "in_proj_weight" in name:
            for i in range(3):
                nn.init.xavier_uniform_(p.data[i * d:(i + 1) * d], gain=1 / math.sqrt(2))
        elif p.dim() == 2:
            nn.init.xavier_uniform_(p)
        else:
            nn.init.zeros_(p)


def build(depth: int, pre: bool, seed: int, d: int = D, ffn: int = FFN) -> Seq2Seq:
    """An L-L Post-LN or Pre-LN encoder-decoder with fairseq's initialisation."""
    torch.manual_seed(seed)
    model = Seq2Seq(depth, pre, d, ffn)
    fairseq_init_(model, d)
    return model


def translation_batch(n: int, gen: torch.Generator) -> tuple[tuple[torch.Tensor, torch.Tensor], torch.Tensor]:
    """``((source, decoder input), target)``: sources from a fixed sparse Markov chain over tokens 1..VOCAB-1
    (each token has MARKOV_BRANCHING equally likely successors), the target is the source reversed, the
    decoder input is the target shifted right behind BOS (token 0)."""
    successors = torch.randint(1, VOCAB, (VOCAB, MARKOV_BRANCHING), generator=torch.Generator().manual_seed(12345))
    src = torch.empty(n, SEQ, dtype=torch.long)
    src[:, 0] = torch.randint(1, VOCAB, (n,), generator=gen)
    for t in range(1, SEQ):
        src[:, t] = successors[src[:, t - 1], torch.randint(0, MARKOV_BRANCHING, (n,), generator=gen)]
    tgt = src.flip(1)
    tgt_in = torch.cat([torch.zeros(n, 1, dtype=torch.long), tgt[:, :-1]], 1)
    return (src, tgt_in), tgt


def seq_loss(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Label-smoothed cross-entropy, averaged over target positions."""
    return F.cross_entropy(logits.reshape(-1, VOCAB), targets.reshape(-1), label_smoothing=LABEL_SMOOTHING)


def w2_grad_norms(depth: int, pre: bool, n_inits: int, n_batches: int, d: int = D, ffn: int = FFN,
                  batch: int = BATCH) -> tuple[np.ndarray, np.ndarray]:
    """(encoder, decoder) per-layer ||E[dL/dW^{2,l}]||_F at init: the gradient averaged over ``n_batches``
    batches (the paper's "expected gradient"), its Frobenius norm, averaged over ``n_inits`` inits."""
    out = np.zeros(2 * depth)
    for seed in range(n_inits):
        model = build(depth, pre, seed, d, ffn)
        gen = torch.Generator().manual_seed(1000 + seed)
        for _ in range(n_batches):
            inputs, tgt = translation_batch(batch, gen)
            seq_loss(model(*inputs), tgt).backward()  # gradients accumulate over the batches
        out += [float(w.grad.norm()) / n_batches for w in model.w2()]  # type: ignore[union-attr]
    out /= n_inits
    return out[:depth], out[depth:]


# ------------------------------------------------------------------------------------------- the lemmas
def lemmas(seed: int = 0) -> dict[str, Any]:
    """Monte-Carlo versions of Lemma 1 and Lemma 2 (with the paper's d x d FFN and Xavier init).

    Lemma 2's expectations are over the input and the initialisation, so the LEMMA_SAMPLES inputs are spread
    over LEMMA_INITS independently initialised layers (one draw of a d = 64 layer alone is off by up to ~6 %).

    Returns:
        ``lemma1`` (measured / predicted), ``post5`` (E||x^{post,5}||^2 / (3d/2)) and ``pre`` (per layer l:
        E||x_l||^2 / d, to compare with [1 + l/2, 1 + 3l/2]).
    """
    g = torch.Generator().manual_seed(seed)
    sigma = 1.7
    x = sigma * torch.randn(LEMMA_SAMPLES, D, generator=g)
    lemma1 = float((F.relu(x) ** 2).sum(1).mean()) / (sigma ** 2 * D / 2)
    per_init = -(-LEMMA_SAMPLES // (LEMMA_INITS * SEQ))  # sequences of SEQ positions per initialisation
    post5, pre = 0.0, np.zeros(PROFILE_DEPTH)
    torch.manual_seed(seed)
    with torch.no_grad():
        for _ in range(LEMMA_INITS):
            post = EncoderLayer(pre=False, ffn=D)
            pre_stack = nn.ModuleList(EncoderLayer(pre=True, ffn=D) for _ in range(PROFILE_DEPTH))
            fairseq_init_(post, D)
            fairseq_init_(pre_stack, D)
            h = post.att(torch.randn(per_init, SEQ, D, generator=g))
            post5 += float(((h + post.ffn.fn(h)) ** 2).sum(-1).mean()) / (1.5 * D) / LEMMA_INITS
            x = torch.randn(per_init, SEQ, D, generator=g)
            for l, layer in enumerate(pre_stack):
                x = layer(x)
                pre[l] += float((x ** 2).sum(-1).mean()) / D / LEMMA_INITS
    return {"lemma1": lemma1, "post5": post5, "pre": pre.tolist()}


def _profile_checks(post: list[float], pre: list[float], where: str) -> list[Check]:
    """The two per-layer bands of Fig. 3(a, b) on one pair of decoder profiles."""
    note = "§5.5 (i); the decoder's FFN layers, the stack that ends at the output (see docs/lab/transformer-ln.md)"
    return [
        Check(f"Post-LN {where}: decoder ||dL/dW2|| last / first layer", "grows with layer (Fig. 3a)",
              post[-1] / post[0], f">= {POST_GROWTH_MIN:g}", post[-1] / post[0] >= POST_GROWTH_MIN, note=note),
        Check(f"Pre-LN {where}: decoder ||dL/dW2|| max / min over layers", "almost flat (Fig. 3b)",
              max(pre) / min(pre), f"<= {PRE_FLAT_MAX:g}", max(pre) / min(pre) <= PRE_FLAT_MAX, note=note),
    ]


def run(quick: bool = True, seeds: int | None = None, out: Path | None = None,
        progress: Callable[[str], None] | None = None) -> LabResult:
    """Run E5e (see the module docstring). ``seeds`` sets the model initialisations averaged per point."""
    say = progress or (lambda msg: None)
    n_inits = seeds or INITS[quick]
    n_batches = BATCHES[quick]
    result = LabResult(NAME, TITLE, SOURCE, quick=quick, seeds=n_inits)

    # 1. Lemmas.
    say("lemma 1 and 2 (Monte-Carlo)")
    lem = lemmas()
    pre_ok = all(1 + l / 2 <= v * (1 + LEMMA_REL) and v <= (1 + 3 * l / 2) * (1 + LEMMA_REL)
                 for l, v in enumerate(lem["pre"], start=1))
    result.checks += [
        Check("Lemma 1: E||ReLU(X)||^2 / (sigma^2 d / 2)", 1.0, lem["lemma1"], f"+-{LEMMA_REL:.0%}",
              abs(lem["lemma1"] - 1) <= LEMMA_REL),
        Check("Lemma 2 Post-LN: E||x^post,5||^2 / (3d/2)", 1.0, lem["post5"], f"+-{LEMMA_REL:.0%}",
              abs(lem["post5"] - 1) <= LEMMA_REL),
        Check(f"Lemma 2 Pre-LN: E||x_l||^2 / d, l = 1..{PROFILE_DEPTH}", "in [1 + l/2, 1 + 3l/2]",
              [round(v, 3) for v in lem["pre"]], f"within the bounds (+-{LEMMA_REL:.0%})", pre_ok),
    ]

    # 2. Gradient norms of W^2 by layer, at init, L-L encoder-decoders with d = 64.
    norms: dict[str, dict[int, dict[str, list[float]]]] = {"post": {}, "pre": {}}
    for kind in ("post", "pre"):
        for L in DEPTHS:
            say(f"{kind}-LN, {L}-{L}, d={D}: ||dL/dW2|| at init")
            enc, dec = w2_grad_norms(L, kind == "pre", n_inits, n_batches)
            norms[kind][L] = {"encoder": enc.tolist(), "decoder": dec.tolist()}
    post6, pre6 = norms["post"][PROFILE_DEPTH]["decoder"], norms["pre"][PROFILE_DEPTH]["decoder"]
    post_last = np.array([norms["post"][L]["decoder"][-1] for L in DEPTHS])
    pre_last = np.array([norms["pre"][L]["decoder"][-1] for L in DEPTHS])
    ratio = post_last / pre_last
    slope = float(np.polyfit(np.log(DEPTHS), np.log(pre_last), 1)[0])
    paper: dict[str, dict[str, list[float]]] = {}
    if not quick:  # Fig. 3a, b: the reference's bands, on the tiny model and at the paper's IWSLT size
        result.checks += _profile_checks(post6, pre6, f"{PROFILE_DEPTH}-{PROFILE_DEPTH}, d={D}")
        for kind in ("post", "pre"):
            say(f"{kind}-LN, {PROFILE_DEPTH}-{PROFILE_DEPTH}, d={PAPER_D}, FFN {PAPER_FFN}: ||dL/dW2|| at init")
            enc, dec = w2_grad_norms(PROFILE_DEPTH, kind == "pre", PAPER_INITS, PAPER_BATCHES, PAPER_D, PAPER_FFN,
                                     PAPER_BATCH)
            paper[kind] = {"encoder": enc.tolist(), "decoder": dec.tolist()}
        result.checks += _profile_checks(paper["post"]["decoder"], paper["pre"]["decoder"],
                                         f"{PROFILE_DEPTH}-{PROFILE_DEPTH}, d={PAPER_D}")
    result.checks += [
        Check(f"L={PROFILE_DEPTH}: last/first layer ratio, Post-LN vs Pre-LN",
              "Post-LN weights the last layers more (Fig. 3a vs 3b)",
              [post6[-1] / post6[0], pre6[-1] / pre6[0]], "Post-LN > Pre-LN", post6[-1] / post6[0] > pre6[-1] / pre6[0],
              note="decoder FFN layers"),
        # Theorem 1: the last layer's gradient, Post-LN independent of L, Pre-LN shrinking like 1/sqrt(L).
        Check("last-layer ||dL/dW2|| Post-LN / Pre-LN against L", "grows like sqrt(L) (Thm 1)",
              [round(float(r), 3) for r in ratio], f"L={DEPTHS[-1]} > L={DEPTHS[0]}", ratio[-1] > ratio[0],
              note=f"L = {list(DEPTHS)}"),
        Check("Pre-LN last-layer ||dL/dW2||: exponent of L (log-log slope)", -0.5, slope, f"+-{SLOPE_TOL:g}",
              abs(slope + 0.5) <= SLOPE_TOL, note=f"norms {[round(float(v), 4) for v in pre_last]}"),
        Check("Post-LN last-layer ||dL/dW2||: largest deviation from its mean over L",
              "independent of L (Thm 1; Fig. 3c: ~1.6 on IWSLT)", float(max(abs(post_last / post_last.mean() - 1))),
              f"<= {ACROSS_L_REL:.0%}", float(max(abs(post_last / post_last.mean() - 1))) <= ACROSS_L_REL,
              note=f"norms {[round(float(v), 4) for v in post_last]}"),
    ]

    # 3. The doctor on Post-LN (and Pre-LN for comparison), from one batch.
    say("doctor: gd.check on Post-LN and Pre-LN")
    inputs, targets = translation_batch(BATCH, torch.Generator().manual_seed(7))
    # (source, decoder input): gd.check calls model(*inputs); lab.doctor.check's annotation says one tensor.
    post_find = doctor.check(build(PROFILE_DEPTH, False, 0), inputs, targets, seq_loss)
    pre_find = doctor.check(build(PROFILE_DEPTH, True, 0), inputs, targets, seq_loss)
    doctor.attach(result, post_find, f"the Post-LN {PROFILE_DEPTH}-{PROFILE_DEPTH} transformer at init (gd.check; "
                  "its gradients are uneven across layers but not large, and the paper's instability appears "
                  "with Adam at a large learning rate without warm-up, which a one-batch check does not see)")
    result.remedy = {
        "pre_layernorm: ||dL/dW2|| last/first decoder layer Post-LN -> Pre-LN": [post6[-1] / post6[0],
                                                                                 pre6[-1] / pre6[0]],
        "problem kinds Post-LN -> Pre-LN": [_kinds(post_find), _kinds(pre_find)]}
    result.series = {"w2_grad_norm": norms, "depths": list(DEPTHS), "lemmas": lem,
                     "last_layer_post_over_pre": ratio.tolist(), "pre_last_slope": slope}
    if paper:
        result.series["w2_grad_norm_d512"] = paper
    plot(norms, paper, out, result.figures)
    return result


def _kinds(findings: list[dict[str, Any]] | None) -> str:
    return "(diagnosis not available)" if findings is None else (", ".join(sorted(doctor.kinds(findings))) or "none")


def plot(norms: dict[str, dict[int, dict[str, list[float]]]], paper: dict[str, dict[str, list[float]]],
         out: Path | None, written: list[str]) -> None:
    """Fig. 3 of the paper: per-layer norms (6-6; encoder layers 1-6, decoder layers 7-12) and the last
    decoder layer's norm against L."""
    if out is None:
        return
    profiles = [(f"d={D}", norms[k][PROFILE_DEPTH], k) for k in ("post", "pre")]
    profiles += [(f"d={PAPER_D}", paper[k], k) for k in paper]
    fig, axes = figures.figure(2)
    for size, prof, kind in profiles:
        v = prof["encoder"] + prof["decoder"]
        axes[0].plot(range(1, len(v) + 1), v, marker="o", ls="-" if kind == "post" else "--",
                     label=f"{'Post' if kind == 'post' else 'Pre'}-LN, {size}")
    for kind, label in (("post", "Post-LN"), ("pre", "Pre-LN")):
        axes[1].plot(DEPTHS, [norms[kind][L]["decoder"][-1] for L in DEPTHS], marker="o", label=label)
    axes[0].axvline(PROFILE_DEPTH + 0.5, color="grey", lw=0.8)
    axes[0].set(title=f"||dL/dW2|| by layer at init ({PROFILE_DEPTH}-{PROFILE_DEPTH}: encoder | decoder)",
                xlabel="layer", ylabel="Frobenius norm", yscale="log")
    axes[1].set(title=f"last decoder layer's ||dL/dW2|| vs depth (d={D})", xlabel="L", ylabel="Frobenius norm")
    for ax in axes:
        ax.legend(fontsize=7)
    figures.save(fig, out, "transformer-ln-fig3", written)


if __name__ == "__main__":
    from ..runner import standalone

    standalone(TITLE, run)
