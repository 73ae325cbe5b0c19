"""The dependencies the routes declare, each spelled once: the process's services and, per
scope, the verified caller a route requires."""

from typing import Annotated

from fastapi import Depends

from logger_app.auth.caller import Caller
from logger_app.auth.dependency import requires
from logger_app.scopes import RECORDS_READ, RECORDS_WRITE, SIGNUPS_WRITE
from logger_app.services import Services, get_services

ServicesDep = Annotated[Services, Depends(get_services)]
SignupWriter = Annotated[Caller, Depends(requires(SIGNUPS_WRITE))]
RecordWriter = Annotated[Caller, Depends(requires(RECORDS_WRITE))]
RecordReader = Annotated[Caller, Depends(requires(RECORDS_READ))]
