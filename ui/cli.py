"""``headroom``: the command line. One click group; every command is registered below.

    headroom estimate llama-2-13b --workload qlora --gpu A10
    headroom fit 13B --gpu A10                 # full / LoRA / QLoRA / inference / serve
    headroom models qwen   |   headroom gpus a100
    headroom probe         |   headroom bench accuracy

Imports of the estimator happen inside the commands so that ``headroom --help`` stays fast.
Known errors print one line and exit with status 1 or 2; no tracebacks.
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click

from ui.cli_assistant import ask, bench_answers, chat
from ui.cli_db import db
from ui.cli_kb import kb
from ui.cli_probe import probe
from ui.cli_slack import slack
from ui.cli_web import ui as web_ui

F = TypeVar("F", bound=Callable[..., Any])

REQUEST_OPTIONS: list[Callable[[F], F]] = [
    click.option("--workload", "-w", default="inference", show_default=True,
                 help="inference, serve, full, lora or qlora"),
    click.option("--gpu", "-g", default="H100", show_default=True,
                 help="catalog GPU (see `headroom gpus`), or 'local' for this machine's GPU"),
    click.option("--num-gpus", "-n", type=int, default=1, show_default=True),
    click.option("--seq-len", "-s", type=int, default=None,
                 help="tokens per sequence [2048; serve: min(context, 8192)]"),
    click.option("--batch-size", "-b", type=int, default=1, show_default=True,
                 help="micro-batch per GPU (serve: concurrent sequences)"),
    click.option("--new-tokens", type=int, default=0, help="inference: generated tokens in seq-len"),
    click.option("--params-b", type=float, default=None, help="size in billions for unknown models"),
    click.option("--config", "config_path", default=None, help="local HF config.json to read"),
    click.option("--weight-dtype", default="auto", help="auto, fp32, bf16, fp16"),
    click.option("--quant", "-q", default=None,
                 help="none, int8, nf4, fp4, gptq-3, gptq-4, gptq-8, awq-4, fp8, gguf-q4_k_m, gguf-q8_0"),
    click.option("--no-double-quant", "double_quant", flag_value=False, default=True,
                 help="bitsandbytes 4-bit without double quantization"),
    click.option("--kv-cache-dtype", default="auto", help="auto, bf16, fp16, fp8"),
    click.option("--optimizer", default="adamw", show_default=True,
                 help="adamw, adamw-8bit, paged-adamw-8bit, paged-adamw, sgd, sgd-momentum, adafactor"),
    click.option("--master-weights/--no-master-weights", default=None,
                 help="fp32 master weights (AMP) [on for full fine-tuning]"),
    click.option("--lora-r", type=int, default=16, show_default=True),
    click.option("--lora-targets", default="all-linear", show_default=True,
                 help="all-linear, attn, qv, mlp or module names (q_proj,v_proj,...)"),
    click.option("--train-embeddings", is_flag=True, help="(Q)LoRA: also train embeddings/lm_head"),
    click.option("--grad-ckpt/--no-grad-ckpt", default=True, show_default=True),
    click.option("--flash-attn/--no-flash-attn", default=True, show_default=True),
    click.option("--attention", default="auto", show_default=True,
                 help="auto, eager, sdpa, flash (FlashAttention-2 / the engine's kernels)"),
    click.option("--transformers-version", default="4.48", show_default=True,
                 help="engine=hf inference: before 4.45 prefill keeps every prompt position's logits"),
    click.option("--zero-stage", type=int, default=0, show_default=True, help="DeepSpeed ZeRO 0-3"),
    click.option("--offload", default="none", show_default=True,
                 help="none, optimizer, optimizer+params"),
    click.option("--tp", "tensor_parallel", type=int, default=1, show_default=True,
                 help="tensor-parallel degree"),
    click.option("--pp", "pipeline_parallel", type=int, default=1, show_default=True,
                 help="pipeline-parallel degree"),
    click.option("--engine", default=None, help="hf, deepspeed, vllm, sglang, llama.cpp, torchtune, litgpt"),
    click.option("--grad-accum", type=int, default=1, show_default=True,
                 help="gradient accumulation steps (>1 keeps gradients alive during forward)"),
    click.option("--loss", default="auto", show_default=True,
                 help="auto, standard, chunked (torchtune/litgpt), fused-linear (Liger)"),
    click.option("--optimizer-impl", default="auto", show_default=True,
                 help="auto, foreach, fused, per-tensor"),
    click.option("--activation-offload", is_flag=True, help="torchtune activation offloading"),
    click.option("--compile", is_flag=True, help="torch.compile (modelled as eager)"),
    click.option("--gptq-group-size", type=int, default=128, show_default=True,
                 help="GPTQ group size (32, 64, 128, -1 per channel)"),
    click.option("--gptq-act-order", is_flag=True, help="GPTQ act-order (desc_act)"),
    click.option("--bnb-version", default="0.45", show_default=True,
                 help="bitsandbytes version (before 0.43.2 4-bit linears keep their inputs)"),
    click.option("--zero-bucket-size", type=int, default=None,
                 help="DeepSpeed reduce_bucket_size in elements (default: HF 'auto', hidden^2)"),
    click.option("--gpu-memory-utilization", type=float, default=0.9, show_default=True),
    click.option("--max-num-batched-tokens", type=int, default=8192, show_default=True),
]


def request_options(func: F) -> F:
    """Attach the EstimateRequest flags to a command."""
    for option in reversed(REQUEST_OPTIONS):
        func = option(func)
    return func


class CliError(click.ClickException):
    """A known error: one line (exit 1), or ``{"error": ..., "field": ...}`` under ``--json``."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


def _fail(err: Exception) -> click.ClickException:
    field = getattr(err, "field", None) or {"UnknownModelError": "model",
                                            "UnknownGpuError": "gpu",
                                            "ConfigFileError": "config"}.get(type(err).__name__)
    return CliError(str(err), field if isinstance(field, str) else None)


def _finite(data: Any) -> Any:
    """The data with NaN and infinities as null: ``--json`` output is strict JSON."""
    if isinstance(data, float):
        return data if math.isfinite(data) else None
    if isinstance(data, dict):
        return {k: _finite(v) for k, v in data.items()}
    if isinstance(data, list | tuple):
        return [_finite(v) for v in data]
    return data


def _gpu_spec(gpu: str) -> Any:
    if gpu.lower() != "local":
        return None
    from ui.cli_probe import local_gpu_spec

    spec, _cap = local_gpu_spec()
    return spec


def _echo_json(data: object) -> None:
    click.echo(json.dumps(_finite(data), indent=2, ensure_ascii=False, default=str,
                          allow_nan=False))


class JsonErrorsGroup(click.Group):
    """The ``headroom`` group: under ``--json`` every error, usage errors included, is printed
    as ``{"error": "...", "field": ...}`` on stdout, with the usual exit status (1, or 2 for
    usage errors); without ``--json`` it is one line on stderr, as click prints it."""

    def main(self, args: Any = None, prog_name: str | None = None,
             complete_var: str | None = None, standalone_mode: bool = True,
             **extra: Any) -> Any:
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode, **extra)
        argv = list(sys.argv[1:] if args is None else args)
        try:
            code = super().main(argv, prog_name, complete_var, False, **extra)
        except click.ClickException as e:
            if "--json" not in argv:
                e.show()
            else:
                field = getattr(e, "field", None)
                if field is None and isinstance(e, click.BadParameter) and e.param is not None:
                    field = e.param.name
                click.echo(json.dumps({"error": e.format_message(), "field": field},
                                      ensure_ascii=False))
            sys.exit(e.exit_code)
        except click.Abort:
            click.echo("Aborted!", err=True)
            sys.exit(1)
        sys.exit(code if isinstance(code, int) else 0)


@click.group(cls=JsonErrorsGroup)
@click.version_option(package_name="headroom")
def main() -> None:
    """Headroom: will this LLM job fit on my GPUs, and what should I change?

    Example: headroom fit 13B --gpu A10
    """


@main.command()
@click.argument("model")
@request_options
@click.option("--json", "as_json", is_flag=True, help="machine-readable output")
def estimate(model: str, as_json: bool, **fields: Any) -> None:
    """Per-GPU memory of MODEL (catalog name, HF id, size like 13B, or config.json path)."""
    from tools.estimator import EstimatorError
    from tools.estimator import estimate as run
    from tools.estimator.report import estimate_text

    spec = _gpu_spec(fields["gpu"])
    if spec is not None:
        fields["gpu"] = spec.name
    fields = {k: v for k, v in fields.items() if v is not None or k in ("seq_len",)}
    try:
        est = run(model=model, gpu_spec=spec, **fields)
    except EstimatorError as e:
        raise _fail(e) from None
    if as_json:
        _echo_json(est.model_dump())
    else:
        click.echo(estimate_text(est))


@main.command()
@click.argument("model")
@click.option("--gpu", "-g", default="H100", show_default=True)
@click.option("--num-gpus", "-n", type=int, default=1, show_default=True)
@click.option("--seq-len", "-s", type=int, default=None)
@click.option("--json", "as_json", is_flag=True)
def fit(model: str, gpu: str, num_gpus: int, seq_len: int | None, as_json: bool) -> None:
    """Which of full / LoRA / QLoRA / inference / serve fit MODEL on the GPUs."""
    from tools.estimator import EstimatorError, fit_matrix
    from tools.estimator.report import fit_text

    spec = _gpu_spec(gpu)
    try:
        fm = fit_matrix(model, gpu=spec.name if spec else gpu, num_gpus=num_gpus,
                        seq_len=seq_len, gpu_spec=spec)
    except EstimatorError as e:
        raise _fail(e) from None
    if as_json:
        _echo_json(fm.model_dump())
    else:
        click.echo(fit_text(fm))


@main.command("plan")
@click.argument("model")
@click.option("--goal", default="fine-tune", show_default=True,
              help="fine-tune, pre-train, serve or inference")
@click.option("--gpu", "-g", "gpu_list", multiple=True, help="GPU types to consider (repeat); default: common cards")
@click.option("--max-gpus", type=int, default=64, show_default=True)
@click.option("--objective", default="fewest_gpus", show_default=True,
              help="fewest_gpus, cheapest, fastest, quality or smallest_gpu")
@click.option("--budget", type=float, default=None, help="max USD per hour for the whole job")
@click.option("--seq-len", "-s", type=int, default=None, help="training sequence / serving context")
@click.option("--users", type=int, default=1, show_default=True, help="serve: concurrent sequences")
@click.option("--batch-size", "-b", type=int, default=1, show_default=True)
@click.option("--dataset-tokens", type=float, default=None, help="fine-tune: tokens in the dataset")
@click.option("--epochs", type=float, default=1.0, show_default=True)
@click.option("--price", "price_list", multiple=True, help="GPU=USD per GPU-hour, e.g. --price H100=2.5")
@click.option("--top", type=int, default=5, show_default=True)
@click.option("--json", "as_json", is_flag=True)
def plan_cmd(model: str, goal: str, gpu_list: tuple[str, ...], max_gpus: int, objective: str,
             budget: float | None, seq_len: int | None, users: int, batch_size: int,
             dataset_tokens: float | None, epochs: float, price_list: tuple[str, ...], top: int,
             as_json: bool) -> None:
    """Ranked strategies to run MODEL, with reasons, cost and a ready-to-run recipe."""
    from tools.estimator import EstimatorError, find_gpu
    from tools.estimator.plan import plan
    from tools.estimator.report import plan_text

    prices: dict[str, float] = {}
    try:
        for item in price_list:
            name, _, value = item.partition("=")
            if not value:
                raise click.BadParameter(f"{item!r}: use GPU=USD, e.g. H100=2.5", param_hint="--price")
            prices[find_gpu(name).id] = float(value)
        result = plan(model, goal=goal, gpus=list(gpu_list) or None, max_gpus=max_gpus,  # type: ignore[arg-type]
                      objective=objective, budget_usd_per_hour=budget, seq_len=seq_len,  # type: ignore[arg-type]
                      users=users, batch_size=batch_size, dataset_tokens=dataset_tokens,
                      epochs=epochs, price=prices, top=top)
    except (EstimatorError, ValueError) as e:
        raise _fail(e) from None
    if as_json:
        _echo_json(result.model_dump())
    else:
        click.echo(plan_text(result))


@main.command()
@click.argument("query", default="")
@click.option("--json", "as_json", is_flag=True)
def models(query: str, as_json: bool) -> None:
    """List or search the model catalog."""
    from tools.estimator import search_models

    found = search_models(query)
    if as_json:
        _echo_json([m.model_dump() for m in found])
        return
    if not found:
        raise click.ClickException(f"no catalog model matches {query!r}")
    for m in found:
        moe = f" MoE {m.num_experts}x{m.experts_per_token}" if m.is_moe else ""
        click.echo(f"{m.id:34s} {m.params_b:8.2f}B  L{m.layers:<3d} h{m.hidden:<5d} "
                   f"kv{m.kv_heads:<3d} ctx {m.max_position:<7d}{moe}  {m.hf_id}")


@main.command()
@click.argument("query", default="")
@click.option("--json", "as_json", is_flag=True)
def gpus(query: str, as_json: bool) -> None:
    """List or search the GPU catalog (usable memory is what CUDA can allocate)."""
    from tools.estimator import search_gpus

    found = search_gpus(query)
    if as_json:
        _echo_json([g.model_dump() for g in found])
        return
    if not found:
        raise click.ClickException(f"no catalog GPU matches {query!r}")
    for g in found:
        bandwidth = f"{g.memory_bandwidth_gbs:6.0f} GB/s" if g.has_bandwidth else "     – GB/s"
        click.echo(f"{g.id:36s} {g.memory_gib:6.0f} GB  usable {g.usable_gib:7.2f} GiB  "
                   f"{bandwidth}  bf16 {'yes' if g.supports_bf16 else 'no ':3s}  "
                   f"aliases: {', '.join(g.aliases)}")


@main.group()
def bench() -> None:
    """Benchmarks: accuracy against measurements, speed."""


@bench.command("accuracy")
@click.option("--rows", is_flag=True, help="also print every modelled row")
@click.option("--json", "as_json", is_flag=True)
@click.option("--leave-one-source-out", "loo", is_flag=True,
              help="score each source with the fitted constants refit without it")
def bench_accuracy(rows: bool, as_json: bool, loo: bool) -> None:
    """Median and p90 absolute % error against published measurements."""
    from ui.bench_report import accuracy_report

    click.echo(accuracy_report(rows=rows, as_json=as_json, loo=loo))


@bench.command("speed")
@click.option("--repeat", type=int, default=200, show_default=True)
def bench_speed(repeat: int) -> None:
    """Median time of estimate() and fit_matrix(), and a cold `headroom estimate` process."""
    from ui.bench_report import speed_report

    click.echo(speed_report(repeat))


main.add_command(probe)
main.add_command(ask)
main.add_command(chat)
bench.add_command(bench_answers)
main.add_command(kb)
main.add_command(web_ui)
main.add_command(slack)
main.add_command(db)


def run() -> None:
    """Entry point that never shows a traceback for a broken pipe."""
    try:
        main()
    except BrokenPipeError:
        sys.exit(1)
