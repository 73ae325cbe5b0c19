"""The talk's sample endpoint, the yardstick of issue #28: ``bench.baseline:app``.

``GET /workflow`` does what the talk's sample does and nothing else: one DynamoDB ``PutItem``
and one SQS ``SendMessage``, with module-level boto3 clients, in a plain ``def`` handler (run in
FastAPI's thread pool), with no validation, no authentication, no outbox, no logging. The bench
serves it with the product's own server command and telemetry (bench/configs.py), and it gets the
product's FastAPI instrumentation (a server span without the per-message ``http send`` /
``http receive`` spans), so the difference in CPU per request between the product's writes and
this is the product's own work, not its instrumentation's options. It is never part of the
product's API.
"""

import functools
import json
import os
import uuid

import boto3
from fastapi import FastAPI
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

from logger_app.settings import Settings

# The tables and queue `logger-app bootstrap` creates (the emulator is bootstrapped before each
# measurement); the patients table's key is a single string `pk`.
TABLE = os.environ.get(
    "LOGGER_APP_PATIENTS_TABLE", str(Settings.model_fields["patients_table"].default)
)
QUEUE = os.environ.get("LOGGER_APP_QUEUE_NAME", str(Settings.model_fields["queue_name"].default))
WORKFLOW_PATH = "/workflow"

dynamodb = boto3.client("dynamodb")
sqs = boto3.client("sqs")
app = FastAPI(title="the talk's sample endpoint (bench baseline)")


@functools.cache
def _queue_url() -> str:
    # Once: the sample has the URL in its configuration. moto's URL is the same queue name's after
    # each reset and bootstrap.
    return sqs.get_queue_url(QueueName=QUEUE)["QueueUrl"]


@app.get(WORKFLOW_PATH)
def workflow() -> dict[str, str]:
    item_id = str(uuid.uuid4())
    dynamodb.put_item(TableName=TABLE, Item={"pk": {"S": f"baseline#{item_id}"}})
    sent = sqs.send_message(QueueUrl=_queue_url(), MessageBody=json.dumps({"id": item_id}))
    return {"id": item_id, "message_id": sent["MessageId"]}


@app.get("/readyz")
def readyz() -> dict[str, str]:
    return {"status": "ready"}


FastAPIInstrumentor.instrument_app(app, excluded_urls="readyz", exclude_spans=["receive", "send"])
