"""Words and patterns the question parser knows, English and Chinese (data, not logic).

Patterns run on the NFKC-normalised, lower-cased question. Numbers written in Chinese
(两, 四, 八, ...) and in English words (two, eight, ...) map through :data:`NUMBER_WORDS`.
"""

from __future__ import annotations

import re


def _re(pattern: str) -> re.Pattern[str]:
    """Compile with ASCII word boundaries, so that ``\\bfp16\\b`` matches in "fp16推理"."""
    return re.compile(pattern, re.ASCII)


NUMBER_WORDS = {
    "a": 1, "an": 1, "one": 1, "single": 1, "two": 2, "dual": 2, "both": 2, "pair of": 2,
    "three": 3, "four": 4, "quad": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "ten": 10,
    "twelve": 12, "sixteen": 16, "一": 1, "单": 1, "二": 2, "两": 2, "双": 2, "三": 3, "四": 4,
    "五": 5, "六": 6, "七": 7, "八": 8, "九": 9, "十": 10, "十六": 16,
}
_NUM = r"(\d+|a|an|one|single|two|dual|both|three|four|quad|five|six|seven|eight|ten|twelve|sixteen)"
_ZH_NUM = r"(\d+|十六|[一单二两双三四五六七八九十])"

# --- GPU count around a GPU name (applied to the text before / after the name) ---
COUNT_BEFORE = [
    _re(r"(\d+)\s*(?:x|×|\*)?\s*$"),
    _re(r"(?<![a-z0-9])" + _NUM + r"\s+(?:(?:nvidia|geforce|tesla|amd|rtx|more)\s+)?$"),
    _re(_ZH_NUM + r"\s*(?:张|块|个|台|片|卡)\s*$"),
]
COUNT_AFTER = [
    _re(r"^\s*(?:x|×|\*)\s*(\d+)"),
    _re(r"^\s*(?:gpus?|cards?)?\s*(?:x|×|\*)\s*(\d+)"),
    _re(r"^\s*[\(（]?\s*(\d+)\s*(?:张|块|个|台|卡)"),
]
COUNT_ANYWHERE = [
    _re(r"\b" + _NUM + r"\s+(?:of\s+(?:them|those|these)|gpus|cards|devices)\b"),
    _re(r"\b" + _NUM + r"[- ](?:gpu|card)\b"),
    _re(_ZH_NUM + r"\s*(?:张|块|个|台)?\s*(?:卡|显卡|gpu)"),
]

# --- generic memory ("an 8 GB GPU", "fit in 24 GB", "24G显存") ---
MEMORY = _re(r"(?<![\w.])(\d+(?:\.\d+)?)\s*(?:gb|gib|g)(?![a-z])")
MEMORY_CONTEXT_AFTER = _re(
    r"^\s*(?:of\s+)?(?:gpu|card|vram|graphics|nvidia|memory|video|显存|显卡|的卡|卡|内存|"
    r"(?:is\s+|be\s+)?(?:enough|sufficient)|够|足够)")
MEMORY_CONTEXT_BEFORE = _re(
    r"(?:\bin|\binto|\bwith|\bon|\bonly|\bhave|\bhas|\ba|\ban|\bmy|显存|只有|单张|一张|用|"
    r"\b(?:rtx|gtx|rx|laptop|notebook)\s*\w*)\s*$")

# --- model sizes ("7B", "70 billion", "70亿") and families without a size ---
SIZE = _re(r"(?<![\w.])(\d+(?:\.\d+)?)\s*(?:b|bn|billion)(?![a-z])")
SIZE_ZH = _re(r"(\d+(?:\.\d+)?)\s*亿")
FAMILY = _re(
    r"\b(llama(?:[- ]?\d(?:\.\d)?)?|qwen(?:\d(?:\.\d)?)?|mistral|mixtral|gemma(?:[- ]?\d)?|phi(?:-?\d)?|"
    r"deepseek|baichuan2?|chatglm\d?|glm-?4|internlm\d?|falcon|yi|gpt-oss|codellama)\b")

# --- workloads ---
FULL = _re(r"full[- ]?(?:parameter[- ]?)?(?:fine[- ]?tun|ft\b|training|sft)|full fine|"
                  r"pre-?train|from scratch|全参|全量|预训练|从头训练|继续训练")
QLORA = _re(r"q-?lora")
LORA = _re(r"(?<![a-z])lora(?![a-z])")
TRAIN = _re(r"fine[- ]?tun|finetun|\btrain|\bsft\b|\bdpo\b|微调|训练|调优|精调")
SERVE = _re(r"\bserv(?:e|ing|er)\b|\bvllm\b|\bsglang\b|\btgi\b|\bdeploy|concurrent|"
                   r"\busers\b|部署|服务|并发|上线")
INFER = _re(r"\brun\b|\bruns\b|inference|\binfer\b|\bload\b|generat|\bchat\b|推理|运行|跑|"
                   r"加载|\bfit\b|放得下|装得下")

# --- precision and quantization (first match wins) ---
QUANT_RULES: list[tuple[re.Pattern[str], dict[str, str]]] = [
    (_re(r"q4_k_m|gguf|\bollama\b|llama\.cpp"), {"quant": "gguf-q4_k_m"}),
    (_re(r"q8_0"), {"quant": "gguf-q8_0"}),
    (_re(r"gptq[- ]?(?:int)?8|8[- ]?bit gptq"), {"quant": "gptq-8"}),
    (_re(r"gptq[- ]?(?:int)?3|3[- ]?bit"), {"quant": "gptq-3"}),
    (_re(r"gptq"), {"quant": "gptq-4"}),
    (_re(r"\bawq\b"), {"quant": "awq-4"}),
    (_re(r"\bfp8\b|float8|8[- ]?bit float"), {"quant": "fp8"}),
    (_re(r"\bnf4\b|\bfp4\b|\bint4\b|4[- ]?bits?\b|4[- ]?位|4\s*比特|四比特|\bq4\b"),
     {"quant": "nf4"}),
    (_re(r"\bint8\b|(?<!adam )8[- ]?bits?\b(?! ?(?:adam|optim))|8[- ]?位|8\s*比特|llm\.int8"),
     {"quant": "int8"}),
    (_re(r"\bbf16\b|bfloat16"), {"weight_dtype": "bf16"}),
    (_re(r"\bfp16\b|float16|half[- ]precision|16[- ]?bits?\b|半精度"), {"weight_dtype": "fp16"}),
    (_re(r"\bfp32\b|float32|full[- ]precision|32[- ]?bits?\b|单精度|全精度"),
     {"weight_dtype": "fp32"}),
    (_re(r"quantiz|量化"), {"quant": "nf4"}),
]
KV_FP8 = _re(r"fp8 kv|kv[- ]cache (?:in )?fp8|kv[- ]?cache[- ]dtype[ =]*fp8")
OPTIMIZER_RULES: list[tuple[re.Pattern[str], str]] = [
    (_re(r"paged[- ]?adamw?[- ]?8[- ]?bit|paged_adamw_8bit"), "paged-adamw-8bit"),
    (_re(r"8[- ]?bit adamw?|adamw?[- ]?8[- ]?bit|bnb adam"), "adamw-8bit"),
    (_re(r"adafactor"), "adafactor"),
    (_re(r"\bsgd\b"), "sgd"),
]

# --- sequence length, batch, users, parallelism ---
SEQ = [
    _re(r"(\d+(?:\.\d+)?)\s*(k|m)?\s*(?:-?\s*tokens?\s*)?(?:of\s+)?(?:context|ctx|"
               r"sequence|seq\b|prompt|上下文|长度|序列|长文本)"),
    _re(r"(?:context(?:[ _](?:length|window|size|len))?|seq(?:uence)?[ _-]?len(?:gth)?|"
               r"max[_ ]model[_ ]len|上下文(?:长度)?|序列长度|长度)\s*(?:of|=|:|is|为|是|到|设为)?"
               r"\s*(\d+(?:\.\d+)?)\s*(k|m)?"),
    _re(r"(\d+(?:\.\d+)?)\s*(k|m)?[- ]?tokens?\b"),
    _re(r"\b(?:at|with|for|@)\s+(\d+(?:\.\d+)?)\s*(k)\b"),  # "at 32k", "with 8k"
]
BATCH = [
    _re(r"(?:micro[ _-]?)?batch(?:[ _-]?size)?\s*(?:of|=|:|is|为|是)?\s*(\d+)"),
    _re(r"\bbs\s*=?\s*(\d+)"),
    _re(r"(?:批大小|批次大小|批量大小|批量|批)\s*(?:为|是|=)?\s*(\d+)"),
]
USERS = [
    _re(r"(\d+)\s*(?:concurrent|simultaneous|parallel)?\s*(?:users|requests|sessions|"
               r"clients|streams|sequences at once)"),
    _re(r"(?:并发|同时)\s*(?:数|用户|请求|用户数)?\s*(?:为|是|=|:)?\s*(\d+)"),
    _re(r"(\d+)\s*(?:个|路|名)?\s*(?:并发|用户|请求)"),
]
ZERO = _re(r"zero[\s_-]*(?:stage[\s_-]*)?([0-3])(?!\d)|(?:deepspeed|ds)\s+stage[\s_-]*([0-3])")
FSDP = _re(r"\bfsdp\b|full[_ ]shard|zero\+\+|zero-?infinity")
OFFLOAD = _re(r"offload|卸载|zero-?infinity")
OFFLOAD_PARAMS = _re(r"offload(?:ing)? (?:the )?(?:params|parameters|weights)|zero-?infinity|"
                            r"param(?:eter)?s? offload")
TP = [
    _re(r"(?:tensor[\s-]*parallel(?:ism)?|\btp)\s*(?:=|of|size|degree|:)?\s*(\d+)"),
    _re(r"(\d+)[\s-]*way\s+tensor"),
    _re(r"张量并行\s*(?:度|数)?\s*(?:为|=|是)?\s*(\d+)"),
]
NO_CKPT = _re(r"(?:without|no|disable[ds]?|turn(?:ed)? off)\s+(?:gradient|activation)\s+"
                     r"checkpoint|不(?:用|开|使用)梯度检查点")
DEEPSPEED = _re(r"deepspeed")

# --- what kind of question ---
NUMBER = _re(r"how much|how many (?:gb|gib|gigabytes)|how (?:big|large)|"
                    r"what(?:'s| is| are)(?: the)? (?:memory|vram|gpu memory|kv cache)\b|"
                    r"(?:memory|vram) (?:footprint|usage|requirements?|needed|does it take)|"
                    r"多少|多大|占用")
TARGETS: list[tuple[re.Pattern[str], str]] = [
    (_re(r"how many (?:concurrent |simultaneous )?(?:users|requests|sequences|sessions)|"
                r"多少(?:个)?(?:并发|用户|请求)"), "users"),
    (_re(r"(?:max(?:imum)?|largest|biggest) batch|最大(?:的)?(?:batch|批)"), "max_batch"),
    (_re(r"(?:longest|max(?:imum)?|largest) (?:context|sequence|seq)|最长|最大(?:的)?(?:上下文|长度)"),
     "max_seq"),
    (_re(r"kv[- ]?cache|kv 缓存|kv缓存"), "kv_cache"),
    (_re(r"optimi[sz]er states?|优化器"), "optimizer"),
    (_re(r"gradients?\b|梯度(?!检查)"), "gradients"),
    (_re(r"activations?\b|激活"), "activations"),
    (_re(r"\bweights?\b|权重|just to load|to load the model"), "weights"),
]
EXPLAIN = _re(r"what (?:is|are|does|do)\b|what's\b|\bwhy\b|\bhow (?:does|do|is|are|can)\b|"
              r"\bexplain|difference|\bvs\.?\b|\bmeaning\b|is it true|tell me about|"
              r"什么是|是什么|为什么|怎么|如何|区别|原理|解释|介绍|什么意思")
EXPLAIN_WEAK = _re(r"^\s*(?:what|why|how|when|which)\b")
FIT = _re(r"\bwhich gpu|\bwhat gpu|哪(?:种|个|款|张)(?:显卡|gpu)|\bcan i\b|\bcould i\b|\bis it possible|enough|\bfit|\brun\b|"
                 r"能不能|能否|可以|可不可以|能.*吗|够不够|够吗|行吗|跑得动|放得下|装得下|够用")
PLAN = _re(r"\b(?:which|what) (?:gpus?|cards?|hardware|setup)\b|\bhow many (?:gpus|cards|[a-z0-9 -]{1,16}?s)"
           r" (?:do|would|will|should) (?:i|we|you) need|\bhow many (?:gpus|cards) (?:are )?(?:needed|"
           r"required)|哪(?:种|个|款|张|些)(?:显卡|gpu|卡)|需要几张|需要多少张|需要什么(?:样的)?(?:显卡|卡|gpu)|"
           r"推荐(?:什么|哪)")
FOLLOWUP = _re(r"^\s*(?:and\b|what about|how about|what if|instead|same\b|then\b|with\b|"
                      r"那|那么|如果|换成|改成|要是|再)|(?:them|those|instead)\b|呢\s*[?？]?\s*$")
LOCAL = _re(r"\bmy (?:gpu|card|machine|computer|graphics|box)|this (?:machine|gpu|box|server)|"
                   r"\blocal gpu|我的(?:显卡|gpu|电脑|机器)|本机|这台")
