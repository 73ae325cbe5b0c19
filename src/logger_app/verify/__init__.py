"""``logger-app verify``: one synthetic journey through the API, then each sink polled until
what the journey produced has arrived there (docs/verify.md)."""
