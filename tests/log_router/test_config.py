"""What the running router cannot show within a test: the limits fluent-bit.conf sets for long
outages, read from the file itself."""

import re

from harness.builds import REPO

CONFIG = (REPO / "fluent-bit.conf").read_text()
OUTPUTS = [section for section in CONFIG.split("[OUTPUT]")[1:]]


def _option(section: str, name: str) -> str:
    match = re.search(rf"^\s*{re.escape(name)}\s+(\S.*?)\s*$", section, re.MULTILINE | re.I)
    assert match, f"no {name} in:\n{section}"
    return match.group(1)


def test_there_are_two_outputs_loki_and_the_durable_copy() -> None:
    assert [_option(s, "Name") for s in OUTPUTS] == ["loki", "cloudwatch_logs"]


def test_each_output_retries_without_limit_within_a_bounded_buffer() -> None:
    for section in OUTPUTS:
        assert _option(section, "Retry_Limit") == "no_limits"
        assert re.fullmatch(r"\d+[KMG]", _option(section, "storage.total_limit_size"))


def test_retries_back_off_to_a_minute_at_most() -> None:
    assert int(_option(CONFIG, "scheduler.cap")) == 60


def test_destinations_come_from_the_environment() -> None:
    [loki, cloudwatch] = OUTPUTS
    assert (_option(loki, "Host"), _option(loki, "Port")) == ("${LOKI_HOST}", "${LOKI_PORT}")
    assert _option(cloudwatch, "log_group_name") == "${CLOUDWATCH_LOG_GROUP}"
    assert _option(cloudwatch, "auto_create_group") == "false"


def test_what_can_still_be_lost_is_written_down() -> None:
    header = CONFIG.split("[SERVICE]")[0]
    assert "can still be lost" in header
    assert "storage.total_limit_size" in header
