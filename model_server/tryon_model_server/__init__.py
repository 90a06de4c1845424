"""The try-on model server: SageMaker's container contract around Qwen-Image-Edit-2511.

``GET /ping`` and ``POST /invocations`` on port 8080 (``serve``), speaking the versioned JSON
contract in ``contracts/sagemaker-tryon.v1.schema.json`` that the try-on Lambda's SageMaker
backend sends. Never part of the Lambda package: it ships as its own container image.
"""
