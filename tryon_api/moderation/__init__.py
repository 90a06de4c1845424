"""Content moderation, a stage of the try-on pipeline: the request's text and garment image before
any model is paid for, every generated image before it is returned or stored.

``interface.py`` says what the pipeline needs; ``phrasing.py`` is the local adapter (no network),
``aws.py`` the Bedrock Guardrails and Rekognition adapters; ``stage.py`` applies them at a level;
``dependencies.py`` builds the stage from the settings.
"""
