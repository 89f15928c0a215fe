"""Measure per-phase GPU memory of one training step on a real GPU (issue 13, item 8).

Builds models with ``from_config`` and random weights (memory does not depend on the values), so
nothing is downloaded: the configs are written here from the catalog's shapes. For each grid point
it records ``torch.cuda.max_memory_allocated`` / ``max_memory_reserved`` after load, forward, loss,
backward and optimizer step, and prints one JSON line per point in the calibration row format
(``source_group = "headroom-measure-phases"``, the script's own path as ``source_url``).

    python bench/measure_phases.py --out measured_phases.jsonl          # the default grid
    python bench/measure_phases.py --quick                               # two points, a smoke run

Needs torch, transformers and peft (``pip install torch transformers peft``); a CUDA GPU.
Not run in CI (no GPU there). See DEVELOPERS.md "Measuring on a GPU".
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import time

GIB = 1024**3

# Two decoder shapes (Llama-style) with a 32k and a ~150k vocabulary, small enough for one GPU.
SHAPES = {
    "llama-2-7b-like-1b": dict(hidden_size=2048, intermediate_size=5632, num_hidden_layers=16,
                               num_attention_heads=16, num_key_value_heads=16, vocab_size=32000),
    "qwen2.5-1.5b": dict(hidden_size=1536, intermediate_size=8960, num_hidden_layers=28,
                         num_attention_heads=12, num_key_value_heads=2, vocab_size=151936,
                         tie_word_embeddings=True),
}
GRID: dict[str, list[object]] = {
    "shape": list(SHAPES),
    "workload": ["full", "lora"],
    "seq_len": [1024, 4096, 8192],
    "attn": ["sdpa", "eager"],
    "grad_ckpt": [True, False],
}


def _peaks(torch: object) -> dict[str, float]:
    cuda = torch.cuda  # type: ignore[attr-defined]
    cuda.synchronize()
    out = {"allocated_gib": cuda.max_memory_allocated() / GIB, "reserved_gib": cuda.max_memory_reserved() / GIB}
    cuda.reset_peak_memory_stats()
    return out


def measure(point: dict[str, object]) -> dict[str, dict[str, float]]:
    """One training step of one grid point; per-phase peaks in GiB."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.cuda.empty_cache()
    torch.cuda.reset_peak_memory_stats()
    cfg = LlamaConfig(**SHAPES[str(point["shape"])], attn_implementation=str(point["attn"]),
                      max_position_embeddings=8192)
    phases: dict[str, dict[str, float]] = {}
    model = LlamaForCausalLM(cfg).to(device="cuda", dtype=torch.bfloat16)
    if point["grad_ckpt"]:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    if point["workload"] == "lora":
        from peft import LoraConfig, get_peft_model

        model = get_peft_model(model, LoraConfig(r=16, target_modules="all-linear", task_type="CAUSAL_LM"))
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=1e-5)  # foreach on CUDA, as HF Trainer's adamw_torch
    phases["load"] = _peaks(torch)
    seq = int(str(point["seq_len"]))
    ids = torch.randint(0, cfg.vocab_size, (1, seq), device="cuda")
    for step in range(2):  # the second step has optimizer states: the steady state
        with torch.autocast("cuda", dtype=torch.bfloat16):
            out = model(input_ids=ids)
            if step:
                phases["forward"] = _peaks(torch)
            loss = model.loss_function(out.logits, ids, vocab_size=cfg.vocab_size) if hasattr(
                model, "loss_function") else torch.nn.functional.cross_entropy(
                out.logits.float().view(-1, cfg.vocab_size), ids.view(-1))
        del out
        if step:
            phases["loss"] = _peaks(torch)
        loss.backward()
        if step:
            phases["backward"] = _peaks(torch)
        opt.step()
        if step:
            phases["optimizer"] = _peaks(torch)
        opt.zero_grad(set_to_none=True)
    del model, opt
    return phases


def main(argv: list[str]) -> int:
    """Run the grid (or --quick) and write JSON lines."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="-")
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args(argv)
    import torch
    import transformers

    points = [dict(zip(GRID, values, strict=True)) for values in itertools.product(*GRID.values())]
    if args.quick:
        points = points[:2]
    sink = sys.stdout if args.out == "-" else open(args.out, "w", encoding="utf-8")  # noqa: SIM115
    gpu = torch.cuda.get_device_name()
    for p in points:
        t = time.time()
        try:
            phases: dict[str, object] = dict(measure(p))
        except torch.cuda.OutOfMemoryError:
            phases = {"oom": True}
            torch.cuda.empty_cache()
        row = {"id": "measure-phases-" + "-".join(str(v) for v in p.values()),
               "source_url": "bench/measure_phases.py", "source_group": "headroom-measure-phases",
               "gpu": gpu, "torch": torch.__version__, "transformers": transformers.__version__,
               "point": p, "phases_gib": phases, "seconds": round(time.time() - t, 1)}
        sink.write(json.dumps(row) + "\n")
        sink.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
