"""Dev-only tools: the local server, the CLI, event builders, the AWS model emulator. Never in the Lambda zip."""
