#!/usr/bin/python3
"""Generates a realistic series of training checkpoints for coral's demo and benchmarks.

    /usr/bin/python3 benchmarks/data/gen_checkpoints.py --out DIR [--epochs 5] [--size-mb 200]
        [--dtype f32|bf16] [--seed 0] [--steps-per-epoch 2] [--shard-mb N] [--threads 1]
        [--sets all | --sets fp32,bf16,finetune,quantized] [--finetunes 3] [--ft-steps 6]

Without --sets (the demo's layout) it writes DIR/epoch-1 ... DIR/epoch-N in --dtype. With --sets
(benchmarks/run.sh passes --sets all) one training run writes every set at once:

    DIR/fp32/epoch-1..N        the series, float32 (the master weights)
    DIR/bf16/epoch-1..N        round-to-nearest BF16 casts of the same master weights
    DIR/finetune/ft-1..K       fine-tunes, each from the last epoch (weights and AdamW state) on a
                               different synthetic task (another Markov chain): ft-1 full, ft-2 full
                               with half the LR, ft-3 with the embeddings and final LayerNorm frozen
    DIR/quantized/int8         the last epoch quantized: every 2-D weight as int8 (per output
                               channel = per row, symmetric, round-to-nearest, range -127..127;
                               safetensors dtype I8) plus "<name>_scale" (F32, one per row);
                               LayerNorm gains and biases stay F32, as int8 exporters do
    DIR/quantized/dequant      the same int8 weights dequantized back to F32 (q * scale): at most
                               255 distinct values per row of a 2-D weight (--quant tensor: one
                               scale per tensor, so at most 255 per tensor)
    DIR/manifest.json          the arguments, the sets, the sizes and the generation time

Every checkpoint directory is in the Hugging Face layout:

    config.json                           GPT-NeoX (Pythia-like) config, same every epoch
    tokenizer.json                        a few KB, same every epoch
    model-0000K-of-0000M.safetensors      shards, written by a small spec-following writer
    model.safetensors.index.json          {"metadata": {"total_size": ..}, "weight_map": {..}}

and DIR/metrics.jsonl: {"epoch": N, "val_loss": x} per epoch (also printed on stdout), then, with
--sets, {"finetune": K, "val_loss": x} (on the fine-tune's own task) and {"quantized": "int8",
"val_loss": x} (the dequantized weights on the series' task). Progress goes to stderr.

How the weights are made. The model is a GPT-NeoX-style decoder (parallel attention + MLP,
LayerNorms with biases, biased linears, untied input/output embeddings) whose hidden size, vocab
and depth are scaled so that one checkpoint is about --size-mb MiB (in --dtype; with --sets, in
float32). It starts from a "pretrained-looking" state (per-row and per-column scales, LayerNorm
gains around 1 with outlier channels, non-zero biases) and is then really trained with AdamW
(weight decay on) on a synthetic next-token task (a Zipf-distributed Markov chain),
--steps-per-epoch steps between two saves. So, as in a real run, every weight changes a little
between consecutive checkpoints, by amounts set by Adam's per-element normalisation. Inputs are
"soft" token distributions (mostly the real token, a little mass on every other token), so that
every row of the input embedding receives a gradient in every step, as it would over a real
epoch. Training is in float32; BF16 files hold round-to-nearest BF16 copies of the float32 master
weights, as mixed-precision runs do.

The output depends only on the arguments (same seed, same bytes), given the same torch build and
thread count (--threads, default 1).
"""

from __future__ import annotations

import argparse
import copy
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


def tensor_bytes(t: torch.Tensor, dtype: str) -> tuple[np.ndarray, str]:
    """(little-endian array, safetensors dtype) of t saved as dtype ("f32" or "bf16")."""
    t = t.detach().contiguous()
    if dtype == "bf16":
        return t.to(torch.bfloat16).view(torch.int16).numpy(), "BF16"  # round to nearest even
    return t.numpy(), "F32"


def write_safetensors(path: str, tensors: list[tuple[str, np.ndarray, list[int], str]]) -> int:
    """tensors: (name, little-endian array, shape, safetensors dtype). Returns the file size."""
    header: dict = {"__metadata__": {"format": "pt"}}
    offset = 0
    for name, arr, shape, st_dtype in tensors:
        header[name] = {"dtype": st_dtype, "shape": shape, "data_offsets": [offset, offset + arr.nbytes]}
        offset += arr.nbytes
    hbytes = json.dumps(header, separators=(",", ":")).encode()
    hbytes += b" " * (-len(hbytes) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(len(hbytes).to_bytes(8, "little"))
        f.write(hbytes)
        for _, arr, _, _ in tensors:
            f.write(memoryview(np.ascontiguousarray(arr)).cast("B"))
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


Item = tuple  # (name, little-endian array, shape, safetensors dtype)


def model_items(model: Model, dtype: str) -> list[Item]:
    out = []
    for name, p in model.named_hf():
        arr, st = tensor_bytes(p, dtype)
        out.append((name, arr, list(p.shape), st))
    return out


def quantize(model: Model, per: str) -> tuple[list[Item], list[Item], dict[str, torch.Tensor]]:
    """Symmetric round-to-nearest int8 of every 2-D weight, one scale per row (per="channel") or
    per tensor (per="tensor"); 1-D tensors (LayerNorm gains, biases) stay F32.
    Returns (int8 items, dequantized F32 items, dequantized state for evaluation)."""
    q_items, dq_items, dq_state = [], [], {}
    for name, p in model.named_hf():
        w = p.detach().contiguous()
        if w.dim() != 2:
            q_items.append((name, w.numpy(), list(w.shape), "F32"))
            dq_items.append((name, w.numpy(), list(w.shape), "F32"))
            dq_state[name] = w
            continue
        if per == "channel":
            amax = w.abs().amax(dim=1, keepdim=True)
        else:
            amax = w.abs().amax().reshape(1, 1)
        scale = (amax / 127.0).clamp(min=1e-12)
        q = torch.round(w / scale).clamp(-127, 127).to(torch.int8)
        dq = (q.to(torch.float32) * scale).contiguous()
        q_items.append((name, q.numpy(), list(w.shape), "I8"))
        sc = scale.reshape(-1).contiguous()
        q_items.append((name + "_scale", sc.numpy(), [sc.numel()], "F32"))
        dq_items.append((name, dq.numpy(), list(w.shape), "F32"))
        dq_state[name] = dq
    return q_items, dq_items, dq_state


def save_checkpoint(out_dir: str, items: list[Item], shard_bytes: int, config: dict,
                    tokenizer_text: str) -> int:
    """Writes items (in state_dict order) as HF-sharded safetensors plus index, config and
    tokenizer. Returns the bytes of tensor data."""
    os.makedirs(out_dir, exist_ok=True)
    for f in os.listdir(out_dir):  # a rerun with other sizes must not leave stale shards
        if f.endswith(".safetensors"):
            os.unlink(os.path.join(out_dir, f))
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
        write_safetensors(os.path.join(out_dir, fname), shard)
        for name, arr, _, _ in shard:
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


def items_bytes(items: list[Item]) -> int:
    return sum(it[1].nbytes for it in items)


def train_steps(model: Model, opt, task: Task, steps: int, batch: int) -> None:
    model.train()
    for _ in range(steps):
        toks = task.batch(batch, 16)
        logits = model(task.soft_inputs(toks[:, :-1]))
        loss = F.cross_entropy(logits.reshape(-1, model.vocab), toks[:, 1:].reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()


def val_loss(model: Model, val_in: torch.Tensor, val_toks: torch.Tensor) -> float:
    model.eval()
    with torch.no_grad():
        vl = F.cross_entropy(model(val_in).reshape(-1, model.vocab), val_toks[:, 1:].reshape(-1))
    return round(float(vl), 4)


def val_data(task: Task, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """A fixed validation batch from task's chain, drawn with its own generator."""
    vt = Task.__new__(Task)
    vt.__dict__.update(task.__dict__)
    vt.gen = torch.Generator().manual_seed(seed)
    toks = vt.batch(2, 16)
    return vt.soft_inputs(toks[:, :-1], smoothing=0.0), toks


SETS = ("fp32", "bf16", "finetune", "quantized")

# Fine-tune recipes, by (k - 1) % 3: (LR as a fraction of --lr, freeze the embeddings and final LN)
FT_RECIPES = ((0.5, False), (0.25, False), (0.5, True))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", required=True, help="output directory")
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--size-mb", type=float, default=100.0,
                    help="approximate MiB per checkpoint (in --dtype; with --sets, in float32)")
    ap.add_argument("--dtype", choices=("f32", "bf16"), default="f32",
                    help="without --sets: the dtype of DIR/epoch-N")
    ap.add_argument("--sets", default=None,
                    help='"all" or a comma list of fp32,bf16,finetune,quantized: write those sets '
                         "(DIR/fp32/epoch-N, ...) instead of DIR/epoch-N")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--steps-per-epoch", type=int, default=2, help="AdamW steps between saves")
    ap.add_argument("--finetunes", type=int, default=3, help="fine-tunes from the last epoch")
    ap.add_argument("--ft-steps", type=int, default=6, help="AdamW steps of each fine-tune")
    ap.add_argument("--quant", choices=("channel", "tensor"), default="channel",
                    help="int8 scale granularity: one per row (default) or one per tensor")
    ap.add_argument("--shard-mb", type=float, default=None,
                    help="max MiB per shard (default: about half a checkpoint, so 2-3 shards)")
    ap.add_argument("--lr", type=float, default=1e-4)
    ap.add_argument("--batch", type=int, default=2, help="sequences per step (of 16 tokens)")
    ap.add_argument("--threads", type=int, default=1, help="torch threads (results depend on it)")
    args = ap.parse_args()
    if args.epochs < 1 or args.size_mb <= 0:
        ap.error("--epochs and --size-mb must be positive")
    sets: tuple[str, ...] = ()
    if args.sets is not None:
        sets = SETS if args.sets == "all" else tuple(x for x in args.sets.split(",") if x)
        bad = [x for x in sets if x not in SETS]
        if bad or not sets:
            ap.error(f"--sets: unknown set(s) {bad}; choose from {', '.join(SETS)} or all")
        if "finetune" in sets and args.finetunes < 1:
            ap.error("--finetunes must be positive")

    t_start = time.time()
    torch.set_num_threads(args.threads)
    torch.use_deterministic_algorithms(True)
    torch.manual_seed(args.seed)
    gen = torch.Generator().manual_seed(args.seed)

    elem = 4 if sets else {"f32": 4, "bf16": 2}[args.dtype]
    target = int(args.size_mb * MiB / elem)
    d, n_layers, vocab = choose_shape(target)
    model = Model(d, n_layers, vocab)
    pretrained_looking_init(model, gen)
    n_params = sum(p.numel() for _, p in model.named_hf())
    log(f"model: hidden {d}, {n_layers} layers, vocab {vocab}, {n_params / 1e6:.1f} M params, "
        f"{n_params * elem / MiB:.1f} MiB per checkpoint ({'f32' if sets else args.dtype})")

    def shard_bytes_for(items: list[Item]) -> int:
        # about half a checkpoint of this set (so 2-3 shards), unless --shard-mb
        if args.shard_mb:
            return int(args.shard_mb * MiB)
        return max(MiB, int(items_bytes(items) * 0.55))

    task = Task(vocab, gen)
    val_in, val_toks = val_data(task, args.seed + 1)

    decay = [p for n, p in model.named_hf() if n.endswith(".weight") and "layernorm" not in n
             and "layer_norm" not in n]
    no_decay = [p for n, p in model.named_hf() if not any(p is q for q in decay)]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.01},
                             {"params": no_decay, "weight_decay": 0.0}],
                            lr=args.lr, betas=(0.9, 0.95), eps=1e-8)

    tokenizer_text = json.dumps(make_tokenizer(vocab, args.seed), indent=2, ensure_ascii=False) + "\n"
    configs = {dt: make_config(d, n_layers, vocab, dt, model.n_heads) for dt in ("f32", "bf16")}
    os.makedirs(args.out, exist_ok=True)
    manifest: dict = {"generator": "benchmarks/data/gen_checkpoints.py",
                      "args": {k: v for k, v in vars(args).items() if k != "out"},
                      "model": {"hidden": d, "layers": n_layers, "vocab": vocab, "params": n_params},
                      "sets": {}}

    def record(set_name: str, ckpt: str, path: str, nbytes: int) -> None:
        manifest["sets"].setdefault(set_name, []).append(
            {"checkpoint": ckpt, "path": os.path.relpath(path, args.out), "tensor_bytes": nbytes})

    metrics_path = os.path.join(args.out, "metrics.jsonl")
    with open(metrics_path, "w") as metrics:
        for epoch in range(1, args.epochs + 1):
            train_steps(model, opt, task, args.steps_per_epoch, args.batch)
            loss = val_loss(model, val_in, val_toks)
            total = 0
            if not sets:
                items = model_items(model, args.dtype)
                total = save_checkpoint(os.path.join(args.out, f"epoch-{epoch}"), items,
                                        shard_bytes_for(items), configs[args.dtype], tokenizer_text)
            for dt, set_name in (("f32", "fp32"), ("bf16", "bf16")):
                if set_name not in sets:
                    continue
                items = model_items(model, dt)
                path = os.path.join(args.out, set_name, f"epoch-{epoch}")
                nb = save_checkpoint(path, items, shard_bytes_for(items), configs[dt], tokenizer_text)
                record(set_name, f"epoch-{epoch}", path, nb)
                total += nb
            line = json.dumps({"epoch": epoch, "val_loss": loss})
            print(line, flush=True)
            metrics.write(line + "\n")
            log(f"epoch {epoch}: val_loss {loss}, {total / MiB:.1f} MiB of tensors, "
                f"{time.time() - t_start:.1f} s")

        if "quantized" in sets:
            q_items, dq_items, dq_state = quantize(model, args.quant)
            qcfg = dict(configs["f32"])
            qcfg["quantization_config"] = {
                "quant_method": "int8_symmetric", "bits": 8, "granularity": args.quant,
                "scale_suffix": "_scale", "rounding": "nearest", "range": [-127, 127],
                "modules_not_quantized": "1-D tensors (LayerNorm gains, biases)"}
            for sub, items, cfg in (("int8", q_items, qcfg), ("dequant", dq_items, configs["f32"])):
                path = os.path.join(args.out, "quantized", sub)
                nb = save_checkpoint(path, items, shard_bytes_for(items), cfg, tokenizer_text)
                record("quantized", sub, path, nb)
            distinct = [int(np.unique(arr).size) for _, arr, shape, _ in dq_items if len(shape) == 2]
            manifest["quantized"] = {"granularity": args.quant,
                                     "distinct_values_per_2d_tensor": [min(distinct), max(distinct)]}
            saved = {n: p.detach().clone() for n, p in model.named_hf()}
            with torch.no_grad():
                for n, p in model.named_hf():
                    p.copy_(dq_state[n])
            qloss = val_loss(model, val_in, val_toks)
            with torch.no_grad():
                for n, p in model.named_hf():
                    p.copy_(saved[n])
            del saved
            line = json.dumps({"quantized": "int8", "val_loss": qloss})
            metrics.write(line + "\n")
            log(f"quantized (int8, per {args.quant}): val_loss {qloss}, distinct values per 2-D "
                f"tensor {min(distinct)}..{max(distinct)}, {time.time() - t_start:.1f} s")

        if "finetune" in sets:
            base_model = copy.deepcopy(model.state_dict())
            base_opt = copy.deepcopy(opt.state_dict())
            frozen = [model.embed_in, model.embed_out, model.final_layer_norm.weight,
                      model.final_layer_norm.bias]
            for k in range(1, args.finetunes + 1):
                model.load_state_dict(base_model)
                opt.load_state_dict(base_opt)
                lr_frac, freeze = FT_RECIPES[(k - 1) % len(FT_RECIPES)]
                for g in opt.param_groups:
                    g["lr"] = args.lr * lr_frac
                for p in frozen:
                    p.requires_grad_(not freeze)
                # another task: the same Zipf unigram, another successor permutation (grammar)
                ft_task = Task(vocab, torch.Generator().manual_seed(args.seed * 1000 + 100 + k))
                ft_val_in, ft_val_toks = val_data(ft_task, args.seed * 1000 + 200 + k)
                before = val_loss(model, ft_val_in, ft_val_toks)
                train_steps(model, opt, ft_task, args.ft_steps, args.batch)
                loss = val_loss(model, ft_val_in, ft_val_toks)
                for p in frozen:
                    p.requires_grad_(True)
                items = model_items(model, "f32")
                path = os.path.join(args.out, "finetune", f"ft-{k}")
                nb = save_checkpoint(path, items, shard_bytes_for(items), configs["f32"], tokenizer_text)
                record("finetune", f"ft-{k}", path, nb)
                line = json.dumps({"finetune": k, "val_loss": loss, "val_loss_before": before,
                                   "lr": args.lr * lr_frac, "steps": args.ft_steps,
                                   "frozen": "embed_in, embed_out, final_layer_norm" if freeze else ""})
                metrics.write(line + "\n")
                log(f"fine-tune {k}: val_loss {before} -> {loss} on its task, "
                    f"{time.time() - t_start:.1f} s")

    manifest["seconds"] = round(time.time() - t_start, 1)
    if sets:
        with open(os.path.join(args.out, "manifest.json"), "w") as f:
            json.dump(manifest, f, indent=2)
            f.write("\n")
    log(f"done in {time.time() - t_start:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
