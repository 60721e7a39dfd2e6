#!/usr/bin/env bash
# The whole test suite: lint, format check, type check, then pytest (SQLite + PostgreSQL,
# local + S3 storage). Installs what it needs first. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
bash scripts/system-deps.sh
export HUB_TEST_POSTGRES_URL=${HUB_TEST_POSTGRES_URL:-postgresql://postgres@127.0.0.1:5432/test}
echo "==> ruff"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
echo "==> mypy"
.venv/bin/mypy
echo "==> pytest"
set +e
# Two workers (HUB_TEST_WORKERS): the suite halves to ~7 min on 2 cores, since most tests wait.
.venv/bin/pytest -q -p no:cacheprovider -n "${HUB_TEST_WORKERS:-2}" "$@"
status=$?
set -e
if [ "$status" -eq 5 ]; then
  echo "error: pytest collected no tests" >&2
  exit 1
fi
exit "$status"
