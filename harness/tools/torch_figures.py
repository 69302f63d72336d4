#!/usr/bin/env python3
"""What a learner would use instead, measured on the GPU kernlings grades on.

Prints one line per op: PyTorch's median time (CUDA events, L2 flushed before every sample,
warm-up first) and the throughput, beside the device-to-device copy bandwidth measured in the
same run, so module intros and closing notes quote figures from this box, not from memory.
kernlings itself never calls PyTorch; this is the instructor's yardstick.

Run on a GPU machine with PyTorch: `python3 harness/tools/torch_figures.py`.
"""
import math

import torch
import torch.nn.functional as F

FLUSH = torch.empty(256 << 20, dtype=torch.uint8, device="cuda")


def median_us(fn, samples=50):
    for _ in range(10):
        fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(samples):
        FLUSH.zero_()
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        end.record()
        torch.cuda.synchronize()
        times.append(start.elapsed_time(end) * 1000.0)
    times.sort()
    return times[len(times) // 2]


def report(name, us, bytes_moved=None, flops=None, copy_bw=None):
    parts = [f"{name:<44} {us:9.1f} us"]
    if bytes_moved is not None:
        bw = bytes_moved / (us * 1e-6) / 1e12
        parts.append(f"{bw:6.2f} TB/s")
        if copy_bw:
            parts.append(f"({bw / copy_bw:.2f} of copy)")
    if flops is not None:
        parts.append(f"{flops / (us * 1e-6) / 1e12:7.1f} TFLOP/s")
    print("  ".join(parts), flush=True)


def main():
    torch.manual_seed(0)
    print(torch.cuda.get_device_name(), "torch", torch.__version__)
    n = 1 << 28
    src = torch.randn(n, device="cuda")
    dst = torch.empty_like(src)
    us = median_us(lambda: dst.copy_(src))
    copy_bw = 2 * 4 * n / (us * 1e-6) / 1e12
    report("copy 2^28 f32 (read + write)", us, 2 * 4 * n, copy_bw=copy_bw)

    for rows, cols in [(8192, 8192), (32768, 1024)]:
        x = torch.randn(rows, cols, device="cuda")
        us = median_us(lambda: torch.softmax(x, dim=-1))
        report(f"torch.softmax {rows}x{cols} f32", us, 8 * rows * cols, copy_bw=copy_bw)
    x = torch.randn(8192, 8192, device="cuda")
    mask = torch.ones(8192, 8192, device="cuda", dtype=torch.bool).triu(1)
    us = median_us(lambda: torch.softmax(x.masked_fill(mask, float("-inf")), dim=-1))
    # The bytes a causal kernel needs: the lower triangle read and written.
    report("causal softmax via masked_fill 8192^2", us, 8 * 8192 * 8193 // 2, copy_bw=copy_bw)

    x = torch.randn(16384, 4096, device="cuda")
    w, b = torch.randn(4096, device="cuda"), torch.randn(4096, device="cuda")
    us = median_us(lambda: F.layer_norm(x, (4096,), w, b))
    report("F.layer_norm 16384x4096 f32", us, 8 * x.numel(), copy_bw=copy_bw)
    res = torch.randn_like(x)
    us = median_us(lambda: F.rms_norm(x + res, (4096,), w))
    report("residual add + F.rms_norm 16384x4096 f32", us, 16 * x.numel(), copy_bw=copy_bw)
    us = median_us(lambda: F.gelu(x + b, approximate="tanh"))
    report("bias + GELU(tanh), unfused, 16384x4096", us, 8 * x.numel(), copy_bw=copy_bw)
    logits = torch.randn(4096, 50257, device="cuda")
    target = torch.randint(0, 50257, (4096,), device="cuda")
    us = median_us(lambda: F.cross_entropy(logits, target))
    report("F.cross_entropy 4096x50257 f32", us, 4 * logits.numel(), copy_bw=copy_bw)

    for dtype, d, s in [(torch.float32, 64, 2048), (torch.float16, 64, 4096), (torch.float16, 128, 4096)]:
        bsz, heads = (8, 16)
        q, k, v = (torch.randn(bsz, heads, s, d, device="cuda", dtype=dtype) for _ in range(3))
        flops = 4 * bsz * heads * s * s * d
        us = median_us(lambda: F.scaled_dot_product_attention(q, k, v), samples=20)
        report(f"SDPA {str(dtype)[6:]} B8 H16 S{s} D{d}", us, flops=flops)
        us = median_us(lambda: F.scaled_dot_product_attention(q, k, v, is_causal=True), samples=20)
        report(f"SDPA causal {str(dtype)[6:]} B8 H16 S{s} D{d}", us, flops=flops / 2)
        if s <= 2048 or dtype == torch.float16:
            scale = 1.0 / math.sqrt(d)

            def unfused():
                p = torch.softmax((q @ k.transpose(-1, -2)) * scale, dim=-1)
                return p @ v

            us = median_us(unfused, samples=10)
            report(f"unfused attention {str(dtype)[6:]} S{s} D{d}", us, flops=flops)

    kv_len, heads, d = 4096, 32, 128
    q = torch.randn(32, heads, 1, d, device="cuda", dtype=torch.float16)
    kc, vc = (torch.randn(32, heads, kv_len, d, device="cuda", dtype=torch.float16) for _ in range(2))
    us = median_us(lambda: F.scaled_dot_product_attention(q, kc, vc))
    report("decode SDPA fp16 B32 H32 L4096 D128 (KV read)", us, 2 * kc.numel() * 2, copy_bw=copy_bw)
    for side in (8192, 4096):
        wmat = torch.randn(side, side, device="cuda", dtype=torch.float16)
        xv = torch.randn(side, device="cuda", dtype=torch.float16)
        us = median_us(lambda: wmat @ xv)
        report(f"fp16 GEMV {side}^2 (weights read)", us, 2 * side * side, copy_bw=copy_bw)


if __name__ == "__main__":
    main()
