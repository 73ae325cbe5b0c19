"""logger-app: patient sign-ups and interaction records, instrumented with OpenTelemetry."""
