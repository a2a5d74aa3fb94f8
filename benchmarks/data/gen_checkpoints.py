#!/usr/bin/python3
"""Generates a realistic series of training checkpoints for coral's demo and benchmarks.

    /usr/bin/python3 benchmarks/data/gen_checkpoints.py --out DIR [--epochs 5] [--size-mb 200]
        [--dtype f32|bf16] [--seed 0] [--steps-per-epoch 2] [--shard-mb N] [--threads 1]

Writes DIR/epoch-1 ... DIR/epoch-N, each in the Hugging Face layout:

    config.json                           GPT-NeoX (Pythia-like) config, same every epoch
    tokenizer.json                        a few KB, same every epoch
    model-0000K-of-0000M.safetensors      shards, written by a small spec-following writer
    model.safetensors.index.json          {"metadata": {"total_size": ..}, "weight_map": {..}}

and DIR/metrics.jsonl. It prints one JSON line per epoch on stdout, {"epoch": N, "val_loss": x},
and progress on stderr.

How the weights are made. The model is a GPT-NeoX-style decoder (parallel attention + MLP,
LayerNorms with biases, biased linears, untied input/output embeddings) whose hidden size, vocab
and depth are scaled so that one checkpoint is about --size-mb MiB. It starts from a
"pretrained-looking" state (per-row and per-column scales, LayerNorm gains around 1 with outlier
channels, non-zero biases) and is then really trained with AdamW (weight decay on) on a synthetic
next-token task (a Zipf-distributed Markov chain), --steps-per-epoch steps between two saves.
So, as in a real run, every weight changes a little between consecutive checkpoints, by amounts
set by Adam's per-element normalisation. Inputs are "soft" token distributions (mostly the real
token, a little mass on every other token), so that every row of the input embedding receives a
gradient in every step, as it would over a real epoch. Training is in float32; --dtype bf16
saves round-to-nearest BF16 copies of the float32 master weights, as mixed-precision runs do.

The output depends only on the arguments (same seed, same bytes), given the same torch build and
thread count (--threads, default 1).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

MiB = 1 << 20


def log(msg: str) -> None:
    print(f"gen_checkpoints: {msg}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------------------------
# Model shape from a size target


def param_count(d: int, n_layers: int, vocab: int) -> int:
    # embed_in + embed_out + per layer (2 LN + qkv + dense + h_to_4h + 4h_to_h) + final LN
    per_layer = 12 * d * d + 13 * d
    return 2 * vocab * d + n_layers * per_layer + 2 * d


def choose_shape(target_params: int) -> tuple[int, int, int]:
    """(hidden, layers, vocab): about 60% of the parameters in the layers, the rest in the two
    embeddings, hidden a multiple of 64, vocab a multiple of 64 (as Pythia's 50304)."""
    n_layers = 6 if target_params < 150_000_000 else 12
    d = max(64, int(round(math.sqrt(0.6 * target_params / (12 * n_layers)) / 64)) * 64)
    while n_layers > 1 and param_count(d, n_layers, 256) > target_params:
        n_layers -= 1
    rest = target_params - param_count(d, n_layers, 0)
    vocab = max(256, (rest // (2 * d)) // 64 * 64)
    return d, n_layers, vocab


# --------------------------------------------------------------------------------------------
# The model: a GPT-NeoX-like decoder, written out so that the parameter names match HF's.


class Model(torch.nn.Module):
    def __init__(self, d: int, n_layers: int, vocab: int):
        super().__init__()
        self.d, self.n_layers, self.vocab = d, n_layers, vocab
        self.n_heads = max(1, d // 64)
        self.embed_in = torch.nn.Parameter(torch.empty(vocab, d))
        self.layers = torch.nn.ModuleList()
        for _ in range(n_layers):
            layer = torch.nn.ModuleDict(
                {
                    "input_layernorm": torch.nn.LayerNorm(d),
                    "post_attention_layernorm": torch.nn.LayerNorm(d),
                    "query_key_value": torch.nn.Linear(d, 3 * d),
                    "dense": torch.nn.Linear(d, d),
                    "dense_h_to_4h": torch.nn.Linear(d, 4 * d),
                    "dense_4h_to_h": torch.nn.Linear(4 * d, d),
                }
            )
            self.layers.append(layer)
        self.final_layer_norm = torch.nn.LayerNorm(d)
        self.embed_out = torch.nn.Parameter(torch.empty(vocab, d))

    def named_hf(self):
        """(HF name, parameter) in HF's state_dict order."""
        yield "gpt_neox.embed_in.weight", self.embed_in
        for i, L in enumerate(self.layers):
            p = f"gpt_neox.layers.{i}."
            for ln in ("input_layernorm", "post_attention_layernorm"):
                yield p + ln + ".weight", L[ln].weight
                yield p + ln + ".bias", L[ln].bias
            for lin, hf in (
                ("query_key_value", "attention.query_key_value"),
                ("dense", "attention.dense"),
                ("dense_h_to_4h", "mlp.dense_h_to_4h"),
                ("dense_4h_to_h", "mlp.dense_4h_to_h"),
            ):
                yield p + hf + ".weight", L[lin].weight
                yield p + hf + ".bias", L[lin].bias
        yield "gpt_neox.final_layer_norm.weight", self.final_layer_norm.weight
        yield "gpt_neox.final_layer_norm.bias", self.final_layer_norm.bias
        yield "embed_out.weight", self.embed_out

    def forward(self, soft_tokens: torch.Tensor) -> torch.Tensor:
        # soft_tokens: (B, T, V) distributions over the vocab -> logits (B, T, V)
        B, T, _ = soft_tokens.shape
        x = soft_tokens @ self.embed_in
        h, hd = self.n_heads, self.d // self.n_heads
        mask = torch.full((T, T), float("-inf")).triu(1)
        for L in self.layers:
            a = L["input_layernorm"](x)
            q, k, v = L["query_key_value"](a).split(self.d, dim=-1)
            q = q.view(B, T, h, hd).transpose(1, 2)
            k = k.view(B, T, h, hd).transpose(1, 2)
            v = v.view(B, T, h, hd).transpose(1, 2)
            att = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(hd) + mask, dim=-1)
            attn = L["dense"]((att @ v).transpose(1, 2).reshape(B, T, self.d))
            m = L["dense_4h_to_h"](F.gelu(L["dense_h_to_4h"](L["post_attention_layernorm"](x))))
            x = x + attn + m  # parallel residual, as GPT-NeoX
        return self.final_layer_norm(x) @ self.embed_out.T


def pretrained_looking_init(model: Model, gen: torch.Generator) -> None:
    """A start that looks like a pretrained model rather than a fresh init: per-row and
    per-column scales (outlier features), LayerNorm gains spread around 1 with a few large
    channels, non-zero biases, embedding norms that depend on token frequency."""

    def randn(*shape):
        return torch.randn(*shape, generator=gen)

    d, nl = model.d, model.n_layers
    col_scale = torch.exp(0.2 * randn(d))  # shared "feature" scales of the residual stream
    with torch.no_grad():
        freq_scale = 0.6 + 0.8 / torch.sqrt(torch.arange(1, model.vocab + 1, dtype=torch.float32))
        model.embed_in.copy_(0.02 * randn(model.vocab, d) * freq_scale[:, None] * col_scale)
        model.embed_out.copy_(0.02 * randn(model.vocab, d) * torch.exp(0.15 * randn(model.vocab, 1)))
        for L in model.layers:
            for ln in ("input_layernorm", "post_attention_layernorm"):
                g = (1.0 + 0.15 * randn(d)).abs() + 0.05
                outliers = torch.randperm(d, generator=gen)[: max(1, d // 100)]
                g[outliers] *= 3.0
                L[ln].weight.copy_(g)
                L[ln].bias.copy_(0.03 * randn(d))
            for name, std in (
                ("query_key_value", 0.02),
                ("dense", 0.02 / math.sqrt(2 * nl)),
                ("dense_h_to_4h", 0.02),
                ("dense_4h_to_h", 0.02 / math.sqrt(2 * nl)),
            ):
                lin = L[name]
                out_f, in_f = lin.weight.shape
                row = torch.exp(0.25 * randn(out_f, 1))
                col = torch.exp(0.15 * randn(1, in_f))
                lin.weight.copy_(std * randn(out_f, in_f) * row * col)
                lin.bias.copy_(0.01 * randn(out_f))
        model.final_layer_norm.weight.copy_((1.0 + 0.2 * randn(d)).abs() + 0.05)
        model.final_layer_norm.bias.copy_(0.02 * randn(d))


# --------------------------------------------------------------------------------------------
# Synthetic task: a Markov chain over a Zipf-distributed vocab.


class Task:
    def __init__(self, vocab: int, gen: torch.Generator):
        self.vocab = vocab
        ranks = torch.arange(1, vocab + 1, dtype=torch.float64)
        self.unigram = (1.0 / ranks**1.1) / (1.0 / ranks**1.1).sum()
        self.successor = torch.randperm(vocab, generator=gen)  # the "grammar": tok -> likely next
        self.gen = gen

    def batch(self, n_seq: int, seq_len: int) -> torch.Tensor:
        toks = torch.empty(n_seq, seq_len + 1, dtype=torch.long)
        toks[:, 0] = torch.multinomial(self.unigram, n_seq, replacement=True, generator=self.gen)
        for t in range(1, seq_len + 1):
            follow = torch.rand(n_seq, generator=self.gen) < 0.5
            rnd = torch.multinomial(self.unigram, n_seq, replacement=True, generator=self.gen)
            toks[:, t] = torch.where(follow, self.successor[toks[:, t - 1]], rnd)
        return toks

    def soft_inputs(self, toks: torch.Tensor, smoothing: float = 0.1) -> torch.Tensor:
        # mostly the real token, a little mass spread over every other token (input smoothing)
        noise = torch.rand(*toks.shape, self.vocab, generator=self.gen)
        noise = noise / noise.sum(-1, keepdim=True)
        return (1 - smoothing) * F.one_hot(toks, self.vocab).float() + smoothing * noise


# --------------------------------------------------------------------------------------------
# safetensors writer (https://github.com/huggingface/safetensors, "Format")


def tensor_bytes(t: torch.Tensor, dtype: str) -> np.ndarray:
    t = t.detach().contiguous()
    if dtype == "bf16":
        return t.to(torch.bfloat16).view(torch.int16).numpy()
    return t.numpy()


def write_safetensors(path: str, tensors: list[tuple[str, np.ndarray, list[int]]], dtype: str) -> int:
    """tensors: (name, little-endian array, shape). Returns the file size."""
    st_dtype = {"f32": "F32", "bf16": "BF16"}[dtype]
    header: dict = {"__metadata__": {"format": "pt"}}
    offset = 0
    for name, arr, shape in tensors:
        header[name] = {"dtype": st_dtype, "shape": shape, "data_offsets": [offset, offset + arr.nbytes]}
        offset += arr.nbytes
    hbytes = json.dumps(header, separators=(",", ":")).encode()
    hbytes += b" " * (-len(hbytes) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(len(hbytes).to_bytes(8, "little"))
        f.write(hbytes)
        for _, arr, _ in tensors:
            f.write(memoryview(arr).cast("B"))
    os.replace(tmp, path)
    return 8 + len(hbytes) + offset


def make_tokenizer(vocab: int, seed: int) -> dict:
    """A small, fixed tokenizer.json in the HF `tokenizers` layout (a few KB)."""
    rng = np.random.default_rng(seed + 7919)
    letters = "abcdefghijklmnopqrstuvwxyz"
    words = ["<|endoftext|>", "<|padding|>"] + [chr(c) for c in range(33, 127)]
    while len(words) < 400:
        n = int(rng.integers(2, 7))
        w = "".join(letters[int(i)] for i in rng.integers(0, 26, n))
        if w not in words:
            words.append(("Ġ" if rng.random() < 0.5 else "") + w)
    merges = [f"{w[0]} {w[1:]}" for w in words[96:220] if len(w) > 1]
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [
            {"id": 0, "content": "<|endoftext|>", "single_word": False, "lstrip": False,
             "rstrip": False, "normalized": False, "special": True},
            {"id": 1, "content": "<|padding|>", "single_word": False, "lstrip": False,
             "rstrip": False, "normalized": False, "special": True},
        ],
        "normalizer": {"type": "NFC"},
        "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True},
        "post_processor": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True},
        "decoder": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True},
        "model": {
            "type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
            "end_of_word_suffix": None, "fuse_unk": False,
            "vocab": {w: i for i, w in enumerate(words)},
            "merges": merges,
        },
        "_note": f"stub tokenizer for a synthetic {vocab}-token task",
    }


def make_config(d: int, n_layers: int, vocab: int, dtype: str, n_heads: int) -> dict:
    return {
        "architectures": ["GPTNeoXForCausalLM"],
        "bos_token_id": 0,
        "eos_token_id": 0,
        "hidden_act": "gelu",
        "hidden_size": d,
        "initializer_range": 0.02,
        "intermediate_size": 4 * d,
        "layer_norm_eps": 1e-05,
        "max_position_embeddings": 2048,
        "model_type": "gpt_neox",
        "num_attention_heads": n_heads,
        "num_hidden_layers": n_layers,
        "rotary_emb_base": 10000,
        "rotary_pct": 0.25,
        "tie_word_embeddings": False,
        "torch_dtype": {"f32": "float32", "bf16": "bfloat16"}[dtype],
        "transformers_version": "4.30.2",
        "use_cache": True,
        "use_parallel_residual": True,
        "vocab_size": vocab,
    }


def save_checkpoint(out_dir: str, model: Model, dtype: str, shard_bytes: int, config: dict,
                    tokenizer_text: str) -> int:
    os.makedirs(out_dir, exist_ok=True)
    items = [(name, tensor_bytes(p, dtype), list(p.shape)) for name, p in model.named_hf()]
    # HF's sharding: fill a shard in state_dict order until the next tensor would overflow it.
    shards: list[list] = [[]]
    size = 0
    for it in items:
        if shards[-1] and size + it[1].nbytes > shard_bytes:
            shards.append([])
            size = 0
        shards[-1].append(it)
        size += it[1].nbytes
    n = len(shards)
    weight_map = {}
    total = 0
    for k, shard in enumerate(shards, 1):
        fname = f"model-{k:05d}-of-{n:05d}.safetensors"
        shard.sort(key=lambda it: it[0])  # safetensors stores tensors sorted by name
        write_safetensors(os.path.join(out_dir, fname), shard, dtype)
        for name, arr, _ in shard:
            weight_map[name] = fname
            total += arr.nbytes
    index = {"metadata": {"total_size": total}, "weight_map": dict(sorted(weight_map.items()))}
    with open(os.path.join(out_dir, "model.safetensors.index.json"), "w") as f:
        json.dump(index, f, indent=2)
        f.write("\n")
    with open(os.path.join(out_dir, "config.json"), "w") as f:
        json.dump(config, f, indent=2, sort_keys=True)
        f.write("\n")
    with open(os.path.join(out_dir, "tokenizer.json"), "w") as f:
        f.write(tokenizer_text)
    return total


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", required=True, help="output directory (epoch-N/ are created in it)")
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--size-mb", type=float, default=100.0, help="approximate MiB per checkpoint")
    ap.add_argument("--dtype", choices=("f32", "bf16"), default="f32")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--steps-per-epoch", type=int, default=2, help="AdamW steps between saves")
    ap.add_argument("--shard-mb", type=float, default=None,
                    help="max MiB per shard (default: about half a checkpoint, so 2-3 shards)")
    ap.add_argument("--lr", type=float, default=1e-4)
    ap.add_argument("--batch", type=int, default=2, help="sequences per step (of 16 tokens)")
    ap.add_argument("--threads", type=int, default=1, help="torch threads (results depend on it)")
    args = ap.parse_args()
    if args.epochs < 1 or args.size_mb <= 0:
        ap.error("--epochs and --size-mb must be positive")

    t_start = time.time()
    torch.set_num_threads(args.threads)
    torch.use_deterministic_algorithms(True)
    torch.manual_seed(args.seed)
    gen = torch.Generator().manual_seed(args.seed)

    elem = {"f32": 4, "bf16": 2}[args.dtype]
    target = int(args.size_mb * MiB / elem)
    d, n_layers, vocab = choose_shape(target)
    model = Model(d, n_layers, vocab)
    pretrained_looking_init(model, gen)
    n_params = sum(p.numel() for _, p in model.named_hf())
    log(f"model: hidden {d}, {n_layers} layers, vocab {vocab}, {n_params / 1e6:.1f} M params, "
        f"{n_params * elem / MiB:.1f} MiB per checkpoint ({args.dtype})")

    shard_bytes = int((args.shard_mb if args.shard_mb else max(1.0, args.size_mb * 0.55)) * MiB)
    task = Task(vocab, gen)
    val_gen = torch.Generator().manual_seed(args.seed + 1)
    val_task = Task.__new__(Task)
    val_task.__dict__.update(task.__dict__)
    val_task.gen = val_gen
    val_toks = val_task.batch(2, 16)
    val_in = val_task.soft_inputs(val_toks[:, :-1], smoothing=0.0)

    decay = [p for n, p in model.named_hf() if n.endswith(".weight") and "layernorm" not in n
             and "layer_norm" not in n]
    no_decay = [p for n, p in model.named_hf() if not any(p is q for q in decay)]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.01},
                             {"params": no_decay, "weight_decay": 0.0}],
                            lr=args.lr, betas=(0.9, 0.95), eps=1e-8)

    config = make_config(d, n_layers, vocab, args.dtype, model.n_heads)
    tokenizer_text = json.dumps(make_tokenizer(vocab, args.seed), indent=2, ensure_ascii=False) + "\n"
    os.makedirs(args.out, exist_ok=True)
    metrics_path = os.path.join(args.out, "metrics.jsonl")
    with open(metrics_path, "w") as metrics:
        for epoch in range(1, args.epochs + 1):
            model.train()
            for _ in range(args.steps_per_epoch):
                toks = task.batch(args.batch, 16)
                logits = model(task.soft_inputs(toks[:, :-1]))
                loss = F.cross_entropy(logits.reshape(-1, vocab), toks[:, 1:].reshape(-1))
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
            model.eval()
            with torch.no_grad():
                vl = F.cross_entropy(model(val_in).reshape(-1, vocab), val_toks[:, 1:].reshape(-1))
            val_loss = round(float(vl), 4)
            total = save_checkpoint(os.path.join(args.out, f"epoch-{epoch}"), model, args.dtype,
                                    shard_bytes, config, tokenizer_text)
            line = json.dumps({"epoch": epoch, "val_loss": val_loss})
            print(line, flush=True)
            metrics.write(line + "\n")
            log(f"epoch {epoch}: val_loss {val_loss}, {total / MiB:.1f} MiB of tensors, "
                f"{time.time() - t_start:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
