"""The EMF metric names the template's alarms and dashboard read (namespace from the stack, service=tryon)."""

# Emitted by tryon_api/http/app.py (and Powertools' cold-start metric).
HANDLER_METRICS = frozenset(
    {"Status2xx", "Status4xx", "Status5xx", "RequestsStudio", "RequestsEnvironment", "GenerationLatency", "ColdStart"}
)
# Emitted by the Bedrock/SageMaker backends' model calls (tryon_api/backends/model_metrics.py).
MODEL_METRICS = frozenset({"ModelCalls", "ModelLatency", "ModelFailures", "ContentFiltered"})
