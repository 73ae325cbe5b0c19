"""`python -m dashboards`: regenerate grafana/dashboards/*.json."""

from dashboards.render import REPO, write

if __name__ == "__main__":
    for path in write():
        print(path.relative_to(REPO))
