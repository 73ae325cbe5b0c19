"""SigV4 headers for a plain HTTPS GET to an AWS API (AMP's query API has no boto3 call)."""

from collections.abc import Mapping

import botocore.session
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import NoCredentialsError


class SigV4Headers:
    """The signed headers of a GET of a URL, for one service in one region, with the default
    credential chain (on ECS the task role; refreshed as they near expiry)."""

    def __init__(
        self, *, service: str, region: str, credentials: Credentials | None = None
    ) -> None:
        self.service = service
        self.region = region
        self._credentials = credentials

    def _current(self) -> Credentials:
        if self._credentials is None:
            self._credentials = botocore.session.get_session().get_credentials()
            if self._credentials is None:
                raise NoCredentialsError()
        return self._credentials

    def __call__(self, url: str) -> Mapping[str, str]:
        frozen = self._current().get_frozen_credentials()
        if frozen.access_key is None or frozen.secret_key is None:
            raise NoCredentialsError()
        request = AWSRequest(method="GET", url=url)
        signing = Credentials(frozen.access_key, frozen.secret_key, frozen.token)
        SigV4Auth(signing, self.service, self.region).add_auth(request)
        return {name: str(value) for name, value in request.headers.items()}
