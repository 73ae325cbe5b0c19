"""The API's scopes, what each lets a caller do, and the action the audit log names it by:
written here once, for the app (auth, the routes, ``logger-app token``, verify's journey) and
for its deployment (``infra/``: the Cognito resource server and app clients).

A leaf: it imports nothing, so the CDK app can read it without the app's dependencies.
"""

SIGNUPS_WRITE = "signups:write"
RECORDS_WRITE = "records:write"
RECORDS_READ = "records:read"

# The audit log's actions (audit.py), one per scope.
SIGN_UP = "patient.sign_up"
RECORD_CREATE = "record.create"
RECORD_READ = "record.read"

# What each scope lets a caller do (the OpenAPI description and Cognito's scope descriptions).
SCOPES = {
    SIGNUPS_WRITE: "sign patients up",
    RECORDS_WRITE: "create interaction records",
    RECORDS_READ: "read interaction records",
}
ACTIONS = {
    SIGNUPS_WRITE: SIGN_UP,
    RECORDS_WRITE: RECORD_CREATE,
    RECORDS_READ: RECORD_READ,
}
# `logger-app verify`'s journey: a sign-up and a record, nothing read back through the API.
VERIFY_SCOPES = (SIGNUPS_WRITE, RECORDS_WRITE)
