"""The Lambda entry points: each turns one kind of event into calls on what the wiring builds.

- ``function_url``: the API's function (function-URL events, the HTTP front in ``tryon_api.http``);
- ``queue_worker``: the jobs worker's function (SQS batches, ``tryon_api.jobs.worker``);
- ``wiring``: the one module that builds settings, AWS clients, the pipeline, the HTTP services
  and the jobs' dependencies, for both functions and for the dev server (tryon_dev).
"""
