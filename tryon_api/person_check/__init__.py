"""The person check: is there anybody in the selfie? Run by the pipeline before any backend.

``local``: the embedded preview's own face model (MediaPipe, local runs); ``rekognition``: Amazon
Rekognition DetectFaces (deployed). ``build_person_detector`` picks one from the settings.
"""
