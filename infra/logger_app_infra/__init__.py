"""CDK app of logger-app: network, data, delivery, access, observability backends, service."""
