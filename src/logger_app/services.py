"""What the routes need, built once per process in the app's lifespan."""

from collections.abc import Callable
from dataclasses import dataclass

from fastapi import Request

from logger_app.aws import AwsClients, create_clients
from logger_app.clock import utc_now
from logger_app.outbox import Outbox
from logger_app.outbox_write import OutboxWrite
from logger_app.publisher import EventPublisher
from logger_app.records import RecordService
from logger_app.settings import Settings
from logger_app.signups import SignupService


@dataclass(frozen=True)
class Services:
    settings: Settings
    clients: AwsClients
    publisher: EventPublisher
    outbox: Outbox
    signups: SignupService
    records: RecordService

    @classmethod
    def create(cls, settings: Settings, clock: Callable[[], str] = utc_now) -> "Services":
        """``clock``: the records' timestamps (the server's time, unless a test gives its own)."""
        clients = create_clients(settings)
        background = clients.for_background()
        outbox = Outbox(background, settings.outbox_table)
        publisher = EventPublisher(background, settings, outbox)
        writes = OutboxWrite(clients, outbox, publisher)
        return cls(
            settings=settings,
            clients=clients,
            publisher=publisher,
            outbox=outbox,
            signups=SignupService(settings.patients_table, writes),
            records=RecordService(
                clients, settings.records_table, settings.patients_table, writes, clock
            ),
        )


async def get_services(request: Request) -> Services:
    # async: FastAPI runs a plain `def` dependency in its thread pool, a thread hop per request.
    services: Services = request.app.state.services
    return services
