"""Small command-line helpers the workflows and make targets call (no CDK app state of their own)."""
