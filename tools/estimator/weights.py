"""Weight memory per GPU: dtype or quantized format, what stays unquantized, and sharding.

Formula (bytes):
  linear layers   x  bits_per_weight(format) / 8       (all 16/32-bit when not quantized)
  embeddings, lm_head, norms, extra (vision)  x  dtype bytes  (GGUF "all": every tensor quantized)
Tensor parallel splits linear layers and the lm_head (vocab-parallel) by ``tp``, and the
embeddings where the engine does (``tp_placement``);
pipeline parallel gives each stage ``1/pp`` of the layers plus the embedding (first stage) or the
lm_head (last stage): the estimate reports the heavier stage. ZeRO-3 / FSDP full-shard divide by
the data-parallel degree and add the layers gathered for compute (see ``training.py``).
"""

from __future__ import annotations

from .params import ParamSplit, param_split
from .quant import quant_format
from .resolve import Job

MXFP4_NATIVE = "mxfp4"


def precision_mode(job: Job) -> str:
    """How full fine-tuning keeps its weights: 'amp', 'ds-mixed' or 'pure16'.

    amp: fp32 parameters with bf16/fp16 autocast (HF Trainer/accelerate on an fp32 model);
    ds-mixed: 16-bit parameters with an fp32 master copy in the optimizer (DeepSpeed/Megatron,
    used whenever ZeRO is on or the engine is deepspeed); pure16: 16-bit parameters and 16-bit optimizer states.
    """
    if not job.master_weights:
        return "pure16"
    return "amp" if job.weight_dtype == "fp32" else "ds-mixed"


def _linear_bytes(job: Job, split: ParamSplit) -> float:
    """Bytes of the decoder's linear layers (attention, MLP, experts, router)."""
    fmt = job.quant_format
    dense = split.linear - split.experts
    if fmt is not None and fmt.id.startswith("gptq"):
        return split.linear * gptq_bits_per_weight(job) / 8
    if fmt is not None and fmt.applies_to == "linear":
        head = split.lm_head if head_quantized(job) else 0
        return (split.linear + head) * fmt.bits_per_weight(job.req.double_quant) / 8
    if fmt is None and job.model.native_quant == MXFP4_NATIVE and job.workload in ("inference", "serve"):
        mx = quant_format(MXFP4_NATIVE).bits_per_weight() / 8
        return split.experts * mx + dense * job.dtype_bytes
    return split.linear * job.dtype_bytes


def weights_bytes_total(job: Job) -> float:
    """Bytes of one full copy of the model as the workload stores it (before any sharding)."""
    split = param_split(job.model)
    fmt = job.quant_format
    if fmt is not None and fmt.applies_to == "all":
        return split.total * fmt.bits_per_weight() / 8
    per = 4 if kbit_prepared(job) else job.dtype_bytes
    head = 0 if head_quantized(job) else split.lm_head
    other = (split.embedding + head + split.norms + split.extra) * per
    copies = 0
    if job.workload in ("lora", "qlora") and job.req.train_embeddings:
        copies = (split.embedding + split.lm_head) * job.dtype_bytes  # PEFT modules_to_save
    return other + copies + _linear_bytes(job, split) + autocast_copy_bytes(job, sharded=False)


def autocast_copy_bytes(job: Job, sharded: bool = True) -> float:
    """16-bit copies of fp32 weights made by autocast and saved by autograd for backward.

    Mixed precision with fp32 parameters (``master_weights``: HF AMP, litgpt bf16-mixed) casts
    each linear weight to 16 bits for its matmul; the cast stays alive until backward (it is
    needed for the input gradient), and inference under autocast caches the casts. This is
    why AMP AdamW costs ~18 bytes/parameter rather than 16.
    """
    if precision_mode(job) != "amp" or job.quant != "none":
        return 0.0
    split = param_split(job.model)
    div = job.req.tensor_parallel * job.req.pipeline_parallel if sharded else 1
    return split.linear * 2 / div


KBIT_NO_UPCAST = frozenset({"gptq-3", "gptq-4", "gptq-8"})


def kbit_prepared(job: Job) -> bool:
    """QLoRA under Hugging Face PEFT whose base PEFT upcasts.

    ``prepare_model_for_kbit_training`` (huggingface/peft src/peft/utils/other.py, v0.6-v0.13)
    casts every fp16/bf16 parameter (embeddings, lm_head, norms) to fp32 unless the model is
    GPTQ-quantized (``quantization_method == "gptq"``; later versions also skip aqlm, eetq,
    torchao and hqq). bitsandbytes and AWQ bases are upcast.
    """
    return kbit_upcast_at_load(job) and not deepspeed_casts_module(job)


def kbit_upcast_at_load(job: Job) -> bool:
    """PEFT's fp32 upcast runs at load (before any DeepSpeed cast), see ``kbit_prepared``."""
    return job.workload == "qlora" and job.engine in ("hf", "deepspeed") and job.quant not in KBIT_NO_UPCAST


def deepspeed_casts_module(job: Job) -> bool:
    """DeepSpeed's engine casts the whole module to the 16-bit training dtype, undoing PEFT's fp32
    upcast: ``_configure_distributed_model`` calls ``self.module.half()`` / ``.bfloat16()``
    (microsoft/DeepSpeed deepspeed/runtime/engine.py, v0.10-v0.16)."""
    return job.req.zero_stage > 0 or job.engine == "deepspeed"


BNB_FORMATS = frozenset({"nf4", "fp4", "int8"})


def head_quantized(job: Job) -> bool:
    """lit-gpt quantizes the lm_head too: Lightning's ``BitsandbytesPrecision`` replaces every
    ``torch.nn.Linear`` while the model is built (lightning/fabric/plugins/precision/bitsandbytes.py
    ``module_init_context``: ``_ClassReplacementContextManager({"torch.nn.Linear": ...})``, Lightning
    2.1+). transformers keeps the lm_head in 16 bits (``get_keys_to_not_convert``)."""
    return job.engine == "litgpt" and job.quant in BNB_FORMATS


GPTQ_SCALE_BITS = 16
"""AutoGPTQ ``scales``: fp16 per group and output column (qlinear_cuda_old.py v0.7)."""
GPTQ_GIDX_BITS = 32
"""AutoGPTQ ``g_idx``: int32 per input channel (qlinear_cuda_old.py v0.7)."""


def gptq_bits_per_weight(job: Job) -> float:
    """GPTQ bits per weight for the request's group size (AutoGPTQ QuantLinear layout).

    auto_gptq/nn_modules/qlinear/qlinear_cuda_old.py (v0.7): ``qweight`` packs ``bits`` per
    weight, ``scales`` fp16 and ``qzeros`` (``bits`` each) per group and output column, and
    ``g_idx`` int32 per input channel (kept with or without act-order). Group size -1 means one
    group over the whole input dimension (per output channel).
    """
    fmt = job.quant_format
    assert fmt is not None
    w = fmt.weight_bits
    group = job.req.gptq_group_size
    fan_in = job.model.hidden
    per_group = group if group > 0 else fan_in
    return w + (GPTQ_SCALE_BITS + w) / per_group + GPTQ_GIDX_BITS / job.model.hidden


def tp_placement(job: Job) -> dict[str, str]:
    """Where the embedding, the lm_head and the logits live under tensor parallelism for this
    engine (``data/frameworks.toml`` [tp_placement]: 'split' by vocab or 'replicated')."""
    from .frameworks import framework_data  # frameworks imports resolve only; no cycle at call time

    table = framework_data()["tp_placement"]
    entry = table.get(job.engine, table["hf"])
    return {k: str(v) for k, v in entry.items()}


def weights_bytes_per_gpu(job: Job) -> float:
    """Resident weight bytes on the most loaded GPU, after tensor and pipeline parallelism.

    Under tensor parallelism the lm_head is split by vocabulary in every engine; the embedding is
    split (vLLM, SGLang, torchtune) or replicated (transformers tp_plan, DeepSpeed AutoTP), see
    ``tp_placement``.

    ZeRO-3 sharding is applied in ``training.zero3_weight_bytes`` on top of this.
    """
    split = param_split(job.model)
    tp, pp = job.req.tensor_parallel, job.req.pipeline_parallel
    total = weights_bytes_total(job)
    if tp == 1 and pp == 1:
        return total
    fmt = job.quant_format
    per_elem = total / max(1, split.total)
    if fmt is not None and fmt.applies_to == "all":
        emb, head = split.embedding * per_elem, split.lm_head * per_elem
    else:
        unq = 4 if kbit_prepared(job) else job.dtype_bytes
        emb, head = split.embedding * unq, split.lm_head * unq
    body = total - emb - head
    if pp > 1 and job.model.tied_embeddings:
        # Megatron-style pipelines keep a copy of tied word embeddings on the last stage for the
        # head (megatron/core/models/common/language_module: setup_embeddings_and_output_layer)
        head = emb
    emb_div = tp if tp_placement(job)["embedding"] == "split" else 1
    emb, head = emb / emb_div, head / tp
    ends = (emb + head) if pp == 1 else max(emb, head)
    return body / (tp * pp) + ends
