"""Development aids: loopback emulators of the AWS model APIs. Never used by the deployed Lambda."""
