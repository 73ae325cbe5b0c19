from fastapi import APIRouter

from logger_app.problems import Problem, problem_responses
from logger_app.readiness import check_dependencies
from logger_app.routes.deps import ServicesDep
from logger_app.schemas import Readiness

router = APIRouter(tags=["health"])

# Probed every few seconds by the load balancer and ECS: no traces, no request log lines.
HEALTH_PATHS = ("/healthz", "/readyz")


@router.get("/healthz")
async def liveness() -> dict[str, str]:
    """The process is up and serving; touches nothing else."""
    return {"status": "ok"}


@router.get("/readyz", responses=problem_responses(503))
async def readiness(services: ServicesDep) -> Readiness:
    """DynamoDB tables and the SQS queue are reachable."""
    checks = await check_dependencies(services)
    if any(state != "ok" for state in checks.values()):
        raise Problem(
            503,
            "not-ready",
            "Not ready",
            "A dependency is unreachable: "
            + ", ".join(f"{name} ({state})" for name, state in checks.items() if state != "ok"),
            headers={"Retry-After": str(services.settings.retry_after_seconds)},
            extra={"checks": checks},
        )
    return Readiness(status="ready", checks=checks)
