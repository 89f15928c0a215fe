"""Ready-to-run recipes for a plan option: configs and commands whose values come from the plan.

- training: a DeepSpeed JSON (ZeRO stage, offload device, bf16) or an accelerate FSDP YAML,
  the launch command, a PEFT ``LoraConfig`` and (QLoRA) a ``BitsAndBytesConfig`` snippet;
- serving: a ``vllm serve`` command (tensor parallel, max model length, memory utilisation,
  quantization, KV-cache dtype, max concurrent sequences);
- GGUF inference: a ``llama-server`` command.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, ConfigDict

from .catalog import find_model
from .resolve import LORA_TARGET_SETS

HF_MODULES = {"q": "q_proj", "k": "k_proj", "v": "v_proj", "o": "o_proj", "gate": "gate_proj",
              "up": "up_proj", "down": "down_proj"}


class Recipe(BaseModel):
    """Files (name -> text) and shell commands for one option."""

    model_config = ConfigDict(frozen=True)

    files: dict[str, str]
    commands: list[str]
    notes: list[str] = []


def _hf_id(model: str) -> str:
    try:
        m = find_model(model)
    except Exception:  # noqa: BLE001 - sizes and config paths have no HF id
        return model
    return m.hf_id or m.id


def deepspeed_config(req: dict[str, Any]) -> dict[str, Any]:
    """A DeepSpeed config for the HF Trainer / accelerate integration ("auto" where it fills in)."""
    stage = int(req.get("zero_stage", 0))
    zero: dict[str, Any] = {"stage": stage, "overlap_comm": True, "contiguous_gradients": True,
                            "reduce_bucket_size": "auto"}
    offload = req.get("offload", "none")
    device = req.get("offload_device", "cpu")
    if offload in ("optimizer", "optimizer+params"):
        zero["offload_optimizer"] = {"device": device, "pin_memory": True}
    if offload == "optimizer+params":
        zero["offload_param"] = {"device": device, "pin_memory": True}
    if stage == 3:
        zero.update({"stage3_prefetch_bucket_size": "auto", "stage3_param_persistence_threshold": "auto",
                     "stage3_gather_16bit_weights_on_model_save": True})
    return {
        "bf16": {"enabled": "auto"},
        "zero_optimization": zero,
        "train_micro_batch_size_per_gpu": int(req.get("batch_size", 1)),
        "gradient_accumulation_steps": "auto",
        "gradient_clipping": "auto",
        "train_batch_size": "auto",
    }


def fsdp_yaml(num_gpus: int, offload: bool) -> str:
    """An accelerate config for FSDP full sharding (YAML text)."""
    return "\n".join([
        "compute_environment: LOCAL_MACHINE",
        "distributed_type: FSDP",
        "mixed_precision: bf16",
        f"num_processes: {num_gpus}",
        "fsdp_config:",
        "  fsdp_sharding_strategy: FULL_SHARD",
        "  fsdp_auto_wrap_policy: TRANSFORMER_BASED_WRAP",
        "  fsdp_backward_prefetch: BACKWARD_PRE",
        f"  fsdp_offload_params: {'true' if offload else 'false'}",
        "  fsdp_state_dict_type: SHARDED_STATE_DICT",
        "  fsdp_use_orig_params: true",
        "  fsdp_cpu_ram_efficient_loading: true",
        "  fsdp_activation_checkpointing: true",
        "",
    ])


def peft_snippet(req: dict[str, Any]) -> str:
    """PEFT LoraConfig (and BitsAndBytesConfig for QLoRA) as Python source."""
    r = int(req.get("lora_r", 16))
    targets = str(req.get("lora_targets", "all-linear"))
    modules = LORA_TARGET_SETS.get(targets)
    target_src = json.dumps([HF_MODULES[m] for m in modules]) if modules else json.dumps(
        [t.strip() for t in targets.split(",")])
    lines = ["import torch", "from peft import LoraConfig", ""]
    if req.get("workload") == "qlora":
        lines[1] = "from peft import LoraConfig, prepare_model_for_kbit_training"
        lines += [
            "from transformers import BitsAndBytesConfig",
            "",
            "bnb_config = BitsAndBytesConfig(",
            "    load_in_4bit=True,",
            f"    bnb_4bit_quant_type=\"{req.get('quant') or 'nf4'}\",",
            f"    bnb_4bit_use_double_quant={bool(req.get('double_quant', True))},",
            "    bnb_4bit_compute_dtype=torch.bfloat16,",
            ")",
            "",
        ]
    lines += [
        "lora_config = LoraConfig(",
        f"    r={r},",
        f"    lora_alpha={2 * r},",
        f"    target_modules={target_src},",
        "    lora_dropout=0.05,",
        "    task_type=\"CAUSAL_LM\",",
        ")",
        "",
        "# model = AutoModelForCausalLM.from_pretrained(MODEL, torch_dtype=torch.bfloat16"
        + (", quantization_config=bnb_config)" if req.get("workload") == "qlora" else ")"),
    ]
    if req.get("workload") == "qlora":
        lines.append("# model = prepare_model_for_kbit_training(model)")
    lines += ["# model = peft.get_peft_model(model, lora_config)", ""]
    return "\n".join(lines)


def training_recipe(req: dict[str, Any]) -> Recipe:
    """Config files and launch command for a training option."""
    n = int(req.get("num_gpus", 1))
    model = _hf_id(str(req["model"]))
    files: dict[str, str] = {}
    commands: list[str] = []
    notes: list[str] = []
    seq = req.get("seq_len", 2048)
    common = (f"--model_name_or_path {model} --bf16 true --per_device_train_batch_size "
              f"{req.get('batch_size', 1)} --gradient_checkpointing {str(req.get('grad_ckpt', True)).lower()} "
              f"--max_seq_length {seq}")
    if req.get("optimizer") and req["optimizer"] != "adamw":
        common += f" --optim {str(req['optimizer']).replace('-', '_').replace('adamw_8bit', 'adamw_bnb_8bit')}"
    if int(req.get("zero_stage", 0)) or req.get("offload", "none") != "none":
        files["ds_config.json"] = json.dumps(deepspeed_config(req), indent=2) + "\n"
        commands.append(f"deepspeed --num_gpus {n} train.py --deepspeed ds_config.json {common}")
        if int(req.get("zero_stage", 0)) == 3:
            files["accelerate_fsdp.yaml"] = fsdp_yaml(n, req.get("offload") == "optimizer+params")
            notes.append("FSDP alternative: accelerate launch --config_file accelerate_fsdp.yaml train.py ...")
    elif n > 1:
        commands.append(f"torchrun --nproc_per_node {n} train.py {common}")
    else:
        commands.append(f"python train.py {common}")
    if req.get("workload") in ("lora", "qlora"):
        files["peft_config.py"] = peft_snippet(req)
    notes.append("train.py: any HF Trainer/TRL SFT script; the flags above are TrainingArguments")
    return Recipe(files=files, commands=commands, notes=notes)


def serving_recipe(req: dict[str, Any], max_model_len: int, max_seqs: int) -> Recipe:
    """A ``vllm serve`` command whose values match the plan."""
    model = _hf_id(str(req["model"]))
    quant = req.get("quant", "none")
    parts = [f"vllm serve {model}", f"--tensor-parallel-size {req.get('tensor_parallel', 1)}",
             f"--max-model-len {max_model_len}",
             f"--gpu-memory-utilization {req.get('gpu_memory_utilization', 0.9)}",
             f"--max-num-seqs {max_seqs}"]
    notes = []
    if quant and quant != "none":
        parts.append(f"--quantization {'awq' if quant == 'awq-4' else 'gptq' if quant.startswith('gptq') else quant}")
        if quant in ("awq-4", "gptq-4", "gptq-8"):
            notes.append(f"point vllm at a pre-quantized {quant.upper()} checkpoint of {model}")
    if req.get("kv_cache_dtype", "auto") == "fp8":
        parts.append("--kv-cache-dtype fp8")
    return Recipe(files={}, commands=[" \\\n  ".join(parts)], notes=notes)


def gguf_recipe(model: str, quant: str, ctx: int) -> Recipe:
    """A llama.cpp server command for a GGUF file."""
    q = quant.removeprefix("gguf-").upper()
    name = _hf_id(model).rsplit("/", 1)[-1]
    return Recipe(files={}, commands=[f"llama-server -m {name}-{q}.gguf -c {ctx} -ngl 999"],
                  notes=["-ngl 999 offloads every layer to the GPU"])
