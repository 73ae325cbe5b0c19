"""Readiness: can this process reach every table and queue a request needs, right now?"""

from collections.abc import Awaitable, Callable

import anyio

from logger_app.aws import AwsPermanentError, AwsUnavailableError, error_code
from logger_app.services import Services
from logger_app.tracing import untraced


async def check_dependencies(services: Services) -> dict[str, str]:
    """Each dependency's state, "ok" or the error's name; the checks run concurrently."""
    clients = services.clients
    settings = services.settings

    async def table(name: str) -> None:
        await clients.call("DynamoDB", clients.dynamodb.describe_table, TableName=name)

    async def queue() -> None:
        await clients.call(
            "SQS",
            clients.sqs.get_queue_attributes,
            QueueUrl=await services.publisher.queue_url(),
            AttributeNames=["QueueArn"],
        )

    checks: dict[str, Callable[[], Awaitable[None]]] = {
        "records_table": lambda: table(settings.records_table),
        "patients_table": lambda: table(settings.patients_table),
        "outbox_table": lambda: table(settings.outbox_table),
        "queue": queue,
    }
    results: dict[str, str] = {}

    async def run(name: str, check: Callable[[], Awaitable[None]]) -> None:
        try:
            await check()
        except AwsUnavailableError as error:
            results[name] = error_code(error.__cause__ or error)
        except AwsPermanentError as error:
            results[name] = error.code
        else:
            results[name] = "ok"

    # Probes every few seconds would otherwise each leave a trace of their AWS calls.
    with untraced():
        async with anyio.create_task_group() as group:
            for name, check in checks.items():
                group.start_soon(run, name, check)
    return dict(sorted(results.items()))
