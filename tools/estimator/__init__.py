"""The pure estimator core: per-GPU memory for LLM inference, serving and fine-tuning.

Imports nothing heavy (stdlib + pydantic). Public API::

    from tools.estimator import EstimateRequest, estimate, fit_matrix
    est = estimate(model="llama-2-13b", workload="qlora", gpu="A10")
    est.fits, est.total_gib, est.per_gpu.weights_gib, est.assumptions, est.suggestions
"""

from .catalog import find_gpu, find_model, gpus, models, search_gpus, search_models
from .errors import (
    ConfigFileError,
    EstimatorError,
    InvalidRequestError,
    UnknownGpuError,
    UnknownModelError,
)
from .estimate import estimate, make_request
from .fit import FitMatrix, FitRow, fit_matrix
from .request import EstimateRequest
from .result import Estimate, PerGpu, ServingCapacity, Suggestion
from .specs import GpuSpec, ModelSpec

__all__ = [
    "ConfigFileError", "Estimate", "EstimateRequest", "EstimatorError", "FitMatrix", "FitRow",
    "GpuSpec", "InvalidRequestError", "ModelSpec", "PerGpu", "ServingCapacity", "Suggestion",
    "UnknownGpuError", "UnknownModelError", "estimate", "find_gpu", "find_model", "fit_matrix",
    "gpus", "make_request", "models", "search_gpus", "search_models",
]
