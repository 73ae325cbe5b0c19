"""logger-app's Grafana dashboards as code (grafana-foundation-sdk).

`python -m dashboards` writes them to grafana/dashboards/ as JSON; the tests regenerate them and
fail when the committed files differ.
"""
