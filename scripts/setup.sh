#!/usr/bin/env bash
# Create .venv (if needed) and install b2m with its test tools. Idempotent; safe on a fresh machine.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-python3}"
# System libraries for the PDF report (WeasyPrint needs Pango, and HarfBuzz-Subset or it warns that a
# future version will; pdftoppm renders pages in the tests). Debian only, as root, only when missing;
# never fails the setup.
REPORT_DEBS="libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core poppler-utils"
# wrk: the HTTP load generator of benchmarks/api.py (small; installed with the others).
REPORT_DEBS="$REPORT_DEBS wrk"
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null && command -v dpkg-query >/dev/null; then
  missing=""
  for deb in $REPORT_DEBS; do
    dpkg-query -W -f='${Status}' "$deb" 2>/dev/null | grep -q "install ok installed" || missing="$missing $deb"
  done
  if [ -n "$missing" ]; then
    echo "setup: installing$missing (PDF reports, benchmarks)" >&2
    { DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null 2>&1 \
        && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null 2>&1; } \
      || echo "setup: could not install$missing; PDF reports and their tests may be skipped or fail" >&2
  fi
fi
# Java 17 for Spark (pyspark: the scale-out engine, used in local mode by the cross-engine tests).
# Only when `java` is missing, only as root with apt-get; never fails the setup.
if ! command -v java >/dev/null && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "setup: installing openjdk-17-jre-headless (Spark)" >&2
  { DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null 2>&1 \
      && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends openjdk-17-jre-headless \
        >/dev/null 2>&1; } \
    || echo "setup: could not install openjdk-17-jre-headless; the Spark engine and its tests need Java 17" >&2
fi
# PostgreSQL 15 server binaries for the service's storage tests (the tests start and stop their own
# server under /usr/lib/postgresql/15/bin; nothing is left running). Debian only, as root, only when
# missing; never fails the setup. The package's own cluster is not needed: its automatic start is
# prevented while installing, and the tests' servers run as the `postgres` user it creates.
if [ ! -x /usr/lib/postgresql/15/bin/postgres ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "setup: installing postgresql-15 (service storage tests)" >&2
  policy=/usr/sbin/policy-rc.d
  had_policy=0; [ -e "$policy" ] && had_policy=1
  [ "$had_policy" = 1 ] || { printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy"; }
  { DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null 2>&1 \
      && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql-15 \
        >/dev/null 2>&1; } \
    || echo "setup: could not install postgresql-15; the PostgreSQL storage tests need it" >&2
  [ "$had_policy" = 1 ] || rm -f "$policy"
fi
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".[dev]"
