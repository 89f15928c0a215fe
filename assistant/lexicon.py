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
    r"^\s*(?:of\s+)?(?:gpu|card|vram|graphics|nvidia|memory|video|显存|的?显卡|的卡|卡|内存|的?gpu|"
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
                   r"\busers\b|部署|(?<!个)服务(?!占|在跑|正在|用了|跑着|已经)|并发|上线")
# what a plan optimizes, and whether it is a desktop purchase
OBJ_CHEAP = _re(r"\bcheap(?:est|er)?\b|least expensive|lowest cost|\bbudget\b|\baffordabl|最省钱|最便宜|便宜|省钱|预算|性价比")
OBJ_FAST = _re(r"\bfastest\b|\bquickest\b|最快")
OBJ_SMALL = _re(r"\bsmallest\b|\bminimum\b|\bminimal\b|\bleast (?:vram|memory)\b|\bbare minimum\b|"
                r"\bentry[- ]level\b|最小|最低|最少显存|入门")
DESKTOP = _re(r"\blocal(?:ly)?\b|\bat home\b|\bbuy\b|\bpurchase\b|\bshould i get\b|\bmy (?:pc|computer|desktop|"
              r"laptop|rig|gaming)|\bgaming\b|\bconsumer\b|电脑|台式|买|家里|本地|自己的机器|游戏卡|消费级")
OTHER_SERVER = _re(r"\bsglang\b|\btgi\b|text-generation-inference|\blmdeploy\b|\btrt-?llm\b|tensorrt-llm")
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
               r"max[-_ ]?model[-_ ]?len|上下文(?:长度)?|序列长度|长度)\s*(?:of|=|:|is|为|是|到|设为)?"
               r"\s*(\d+(?:\.\d+)?)\s*(k|m)?"),
    _re(r"(\d+(?:\.\d+)?)\s*(k|m)?[- ]?tokens?\b"),
    _re(r"\bseq(?:uence)?(?:[ _-]?len(?:gth)?)?\s*(?:=|:|of|is|为|是|到|改|改成|改到|拉到|开到|设为|设成)?"
        r"\s*(\d+(?:\.\d+)?)\s*(k)?\b"),
    _re(r"(?:prompt|请求|每人|每个人|每条|上下文\s*(?:要|开|拉|设|改)*\s*(?:到|成|满)?|context(?: of)?|序列|"
        r"输入)\s*(?:长度)?\s*(?:为|是|=|:)?\s*(\d+(?:\.\d+)?)\s*(k)\b"),
    _re(r"(?<![\w.])(\d+(?:\.\d+)?)\s*(k)\s*(?:的)?\s*(?:序列|上下文|长度|context|prompt|tokens?|输入)"),
    _re(r"\b(?:at|with|for|@)\s+(\d+(?:\.\d+)?)\s*(k)\b"),  # "at 32k", "with 8k"
    _re(r"(?<![\w.$])(\d+(?:\.\d+)?)\s*(k)[- ](?:context |token |tokens? )?(?:users?|requests?|sessions?|"
        r"people|chats?|conversations?)\b"),  # "how many 8k users": 8k tokens each
    # a follow-up naming only a length: "what about 8k?", "and 16k", "回到 2k", "8k 呢"
    _re(r"^\W*(?:(?:ok|so|and|then)\W+)?(?:what about|how about|and|try|then|at|instead)\s+(\d+(?:\.\d+)?)"
        r"\s*(k)\b(?!\s*(?:users?|people|requests?|concurrent|gpus?|cards?|steps?|samples?))"),
    _re(r"(?:回到|降到|改回|改到|拉到|调到|换到|换成|改成|开到|提到|升到)\s*(\d+(?:\.\d+)?)\s*(k)\b"),
    _re(r"(?<![\w.$])(\d+(?:\.\d+)?)\s*(k)\s*(?:呢|的话|行吗|可以吗)"),
]
BATCH = [
    _re(r"(?:micro[ _-]?)?batch(?:[ _-]?size)?\s*(?:of|=|:|is|to|为|是|开到|改成|改到|拉到|设成|设为|调到|到)?"
        r"\s*(\d+)"),
    _re(r"\bbs\s*=?\s*(\d+)"),
    _re(r"(?:批大小|批次大小|批量大小|批量|批)\s*(?:为|是|=)?\s*(\d+)"),
]
USERS = [
    _re(r"(\d+)\s*(?:concurrent|simultaneous|parallel)?\s*(?:users|requests|sessions|"
               r"clients|streams|sequences at once)"),
    _re(r"(?:并发|同时)\s*(?:数|用户|请求|用户数)?\s*(?:为|是|=|:)?\s*(\d+)"),
    _re(r"(\d+)\s*(?:个|路|名)?\s*(?:并发|用户|请求)"),
    # "20 个人同时用", "8 个人每人 8k", "10 people at once", "5 devs hitting it"
    _re(r"(\d+)\s*(?:个|名|位)?\s*(?:人|同事|开发者?)\s*(?:同时|一起|并发|每人|每个人|在用|使用|用)"),
    _re(r"(\d+)\s*(?:people|devs|developers|engineers|colleagues|teammates)\b"),
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

# --- question kinds (see assistant.kinds; the order of checks lives there) ---
KIND_WHY = _re(r"\bwhy\b|\bhow come\b|\bwhat causes\b|\bwhat(?:'s| is) (?:eating|using|taking)|"
               r"\bstill (?:oom|ooms|runs? out|out of memory)|为什么|为啥|为何|怎么会|咋会|原因|凭什么|"
               r"还是\s*(?:oom|爆|不够|炸|溢出)|怎么还")
KIND_OOM = _re(r"\boom\b|out of memory|cuda error|ran out|爆显存|显存不足|爆了|炸了")
KIND_DELTA = _re(r"how much (?:memory |vram |gpu memory |space )?(?:does|do|will|would|can|could|"
                 r"is)\b[^?]{0,60}?\b(?:save|saves|saved|cost|costs|add|adds|reduce|cut|free|use "
                 r"more|increase|change)|how much (?:more|less|extra)|how much (?:do|does|would|"
                 r"will) (?:i|we|it) save|\bsavings?\b|省多少|能省|省了多少|省下|节省|多多少|多用多少|"
                 r"多占多少|少多少|增加多少|减少多少|差多少(?!显存.*对比)|省掉|能少")
KIND_COMPARE = _re(r"\bvs\.?\b|\bversus\b|\bcompare[ds]?\b|\bcomparison\b|\bwhich (?:one )?(?:is|uses|"
                   r"needs|saves|takes|would|should)\b|\bwhich (?:is )?(?:better|cheaper|smaller|"
                   r"bigger)|\bdifference between\b|\bor\b.{0,40}\b(?:better|cheaper|more memory|"
                   r"less memory)|对比|比较|哪个更|哪个省|哪个好|分别|相比|区别大吗|有区别吗|差多少")
KIND_CAPACITY = _re(r"max[-_ ]?model[-_ ]?len|how many (?:\d+k[- ])?(?:concurrent |simultaneous |parallel )?"
                    r"(?:users|requests|sequences|sessions|people|chats|streams)|longest (?:context|"
                    r"sequence|prompt)|max(?:imum)? (?:context|sequence|batch|seq|concurrency)|"
                    r"largest (?:batch|context)|biggest (?:batch|context)|how (?:long|large|big) (?:a |"
                    r"can )?(?:the )?(?:context|batch)|how many tokens|最多(?:能|可以)?(?:同时|并发|开|"
                    r"支持|撑)|最长|最大(?:能|可以)?(?:开|支持|的)?(?:上下文|batch|批|序列|长度|并发)|"
                    r"能撑几|几个人|多少(?:个)?(?:并发|用户|人)|能开到多少|上下文.{0,6}多少|batch.{0,6}"
                    r"多少|并发.{0,6}多少|起得来|起来吗|能启动|启动得了|能起")
KIND_PLAN = _re(r"\bwhat (?:gpus?|cards?|hardware|setup|config(?:uration)?|instance)s? (?:do|would|"
                r"should|will)\b|\bwhich (?:gpus?|cards?|instance)\b|\bhow many (?:gpus|cards|[a-z0-9 -]{1,16}"
                r"?s) (?:do|would|will|should|are) (?:i|we|you)? ?(?:need|required)|\bcheapest\b|"
                r"\bwhat (?:can|could) i run\b|\bwhat (?:models?|llms?) (?:can|could|will)\b|"
                r"\brecommend|\bwhat should i (?:buy|rent|get|use)|\bbudget\b|最便宜|最省钱|需要什么(?:样的)?"
                r"(?:配置|显卡|卡|gpu|机器)|需要几张|需要多少张|要几张|几张卡|推荐|选哪|买什么|租什么|"
                r"哪(?:种|个|款|张|些)(?:显卡|gpu|卡)|能玩(?:点)?什么|能跑(?:点)?什么|什么配置|配置要求|"
                r"\b(?:smallest|cheapest|minimum|min|least expensive|best|right) (?:gpu|card|setup|hardware|instance)s?\b|"
                r"\bwhat (?:gpu|card)s? (?:works|fits|is enough|would work)|\bminimum (?:setup|hardware|requirements?)|"
                r"最小(?:的)?(?:显卡|卡|gpu|配置)|最低(?:的)?(?:显卡|配置|要求)")
KIND_CONCEPT = _re(r"how many bits|bits? per (?:weight|param)|多少\s*(?:bit|位|比特)|\bwhat(?:'s| is| are| does)\b|\bwhat do\b.{0,30}\bmean|\bexplain\b|\bhow does\b|"
                   r"\bhow do(?:es)?\b.{0,40}\bwork|\bmeaning of\b|\btell me about\b|\bdefine\b|"
                   r"\bis it true\b|\bdifference\b|\bwhen should\b|\bshould i use\b|\bdo i need\b|"
                   r"什么是|是什么|是啥|是个啥|啥是|干嘛用|干什么用|什么意思|怎么省|如何省|原理|解释|介绍|区别|"
                   r"是不是真的|有什么用|怎么算|怎么理解|啥意思|啥区别|有啥区别")
KIND_OFFTOPIC = _re(r"\b(?:write|compose) (?:me )?(?:a |an )?(?:poem|song|haiku|story|essay|joke)|"
                    r"\btell me a joke|\bweather\b|\brecipe\b|\btranslate\b|\bstock price|写(?:一)?首|"
                    r"作诗|写诗|讲个笑话|笑话|天气|菜谱|翻译一下|股价|写一篇")
KIND_GREETING = _re(r"^\s*(?:hi|hello|hey|yo|thanks|thank you|good (?:morning|evening)|你好|您好|"
                    r"嗨|哈喽|谢谢|早上好|晚上好|在吗)[\s!！.。~～?？]*$")

# --- the domain: a message with none of these (and no model or GPU) is not a sizing question ---
DOMAIN = _re(r"\bseq\b|\bbs\b|\bgpus?\b|vram|memory|\bmem\b|显存|显卡|内存|\bmodel|模型|\bllms?\b|lora|train|tun(?:e|ing)|"
             r"微调|训练|推理|部署|inference|\bserv|\bkv\b|cache|quantiz|量化|token|batch|context|上下文|"
             r"\boom\b|cuda|vllm|zero|fsdp|deepspeed|flash|checkpoint|nvidia|\bmla\b|\bmoe\b|"
             r"attention|注意力|adam|optimi[sz]er|优化器|gguf|awq|gptq|nf4|int[48]|fp8|fp16|bf16|"
             r"\brtx\b|\bgib?\b|\d\s*gb|\d\s*g\b|参数|offload|卸载|\bpeft\b|ollama|llama|qwen|mistral|"
             r"deepseek|gemma|\bphi\b|卡|\bparams?\b|sglang|tgi|\btp\b|并行|parallel|显卡|算力|h100|a100|"
             r"4090|3090|a10\b|\bt4\b|l40s|h200")
# model-like names (to notice one the catalog does not know: "Qwen4-72B")
MODEL_LIKE = _re(r"\b(?:llama|qwen|mistral|mixtral|gemma|phi|deepseek|yi|falcon|glm|chatglm|internlm|"
                 r"baichuan|gpt|olmo|command-r|dbrx|starcoder|codellama|vicuna|solar|minicpm|granite)"
                 r"[\w.-]*?\d[\w.-]*")
# GPU-like names (to notice one the catalog does not know: "RTX 3060 12GB" before it was added)
GPU_LIKE = _re(r"\b(?:rtx|gtx|titan|quadro|tesla|radeon|instinct|gaudi)\s*[a-z]?\d{2,4}\w*(?:\s*(?:ti|"
               r"super|ada|xt|x))?|\b[2-5]0[5-9]0\s*(?:ti|super)?\b|\b(?:a|h|l|b|t)\d{1,4}[a-z]?\b"
               r"(?![\w.-]*b\b)|\b(?:p|v)(?:40|100|4|6000)\b|\bmi\d{3}\w?\b")
GPU_PICK = _re(r"\bgpu\s*#?\s*(\d)\b|\bcard\s*#?\s*(\d)\b|\bdevice\s*(\d)\b|(\d)\s*号卡|卡\s*(\d)\b")
GPU_FREE = _re(r"\b(?:the )?(?:free|idle|empty|unused) (?:one|gpu|card)\b|\bone of (?:them|those|these)"
               r"\b|空闲|空着的|闲着的|没人用的|那张空|没被占")
WHEN_FREED = _re(r"跑完|杀掉|杀了|kill|结束(?:以)?后|释放(?:以)?后|空出来|腾出来|停掉|"
                 r"\bafter (?:it|that|the|gpu|its|their)\b.{0,30}\b(?:finish|done|end|stop|free)|"
                 r"\bonce\b.{0,40}\b(?:finish|done|ends|killed|stopped|free)|\bwhen\b.{0,30}\bfrees? up")
GPU_BUSY = _re(r"\s*(?:is |are )?(?:busy|in use|taken|occupied|used by|being used|running|上的活|的活|被|占|在跑|跑着|正在)")
CORRECTION = _re(r"^\s*(?:no|nope|not|actually|i meant|i mean|sorry|不是|不对|我是说|我的意思是)\b[\s,，]")
RANK = _re(r"(?:\brank|\blora[ _-]?r|\br)\s*(?:=|of|to|from|:|为|是|从|提到|改成|到)?\s*(\d{1,4})\b")
VERSUS = _re(r"\bvs\.?\b|\bversus\b|\bcompared (?:to|with)\b|\brelative to\b|\bover\b|相比|相对于|比起|对比")
# the target of a change: "rank from 16 to 64", "rank 16 -> 64", "rank 从 16 提到 64"
RANK_TO = _re(r"(?:\brank|\blora[ _-]?r)\s*(?:from|从)?\s*\d{1,4}\s*(?:to|->|→|提到|提高到|改成|改到|到|升到|加到|调到)"
              r"\s*(\d{1,4})\b")
ZERO_ALL = _re(r"zero[\s_-]*(?:stage[\s_-]*)?([0-3])(?!\d)")
ENGINE_HF = _re(r"\bhf\b|hugging ?face|transformers|\bgenerate\(|hf generate|trainer\b|\bpeft\b")
ENGINE_LLAMACPP = _re(r"llama\.cpp|llama-server|ollama|\bgguf\b|lm ?studio")
ENGINE_VLLM = _re(r"\bvllm\b")
ENGINE_SGLANG = _re(r"\bsglang\b")
FLASH_ON = _re(r"flash[- _]?attn|flash[- _]?attention|\bfa-?[23]\b|\bsdpa\b")
CKPT_ON = _re(r"(?:gradient|activation|grad)[- _]?checkpoint|梯度检查点|\bcheckpointing\b")
