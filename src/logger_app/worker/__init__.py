"""The event worker (``logger-app worker``): consumes the event queue and applies each event's
effect once.

- ``queue``: the SQS side (receive, delete, give back, the heartbeat that keeps a batch
  invisible, the receive limit and the depth gauge);
- ``consumer``: the loop and the handling of one message (dedup, failure, backing off);
- ``effects``: what each event type writes, as a registry ``{event type: effect}``;
- ``failures``: why a message failed, as the log lines say it;
- ``main``: the process, and the worker built from the settings.

The processed markers are the outbox table's (``logger_app.outbox``); the wire format is the
events' (``logger_app.events``).
"""
