"""The model server's capacity plan (``make model-plan``): sizes, FLOPs, time and cost per instance."""
