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
# Chromium for the web app's browser tests (Playwright drives Debian's /usr/bin/chromium; no browser is downloaded:
# PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD below). Debian only, as root, only when missing; never fails the setup (the
# browser tests then fail under CI, and are skipped with a reason elsewhere).
if [ ! -x /usr/bin/chromium ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "setup: installing chromium (web app browser tests)" >&2
  { DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null 2>&1 \
      && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core \
        >/dev/null 2>&1; } \
    || echo "setup: could not install chromium; the web app's browser tests need /usr/bin/chromium" >&2
fi
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".[dev]"

# --- FHIR (issue 12): validator and official example packages for the FHIR tests -----------------
# Test tooling only; nothing here is part of the b2m package. Node.js >= 20.19 with npm (the machines
# have Node.js 20): `npm ci` installs the pinned validator (@medplum/core, package-lock.json) into
# ./node_modules; `npm pack` fetches the HL7 R4 examples and mCODE 4.0.0 packages (CC0 / HL7 licence:
# their JSON examples and definitions are test data) into tests/.fhir-packages/, checked against the
# registry's sha512 pinned here. Both folders are ignored by git; the tests read them offline.
# Never fails the setup: without them the FHIR validation and example tests are skipped, with a reason.
FHIR_PACKAGES="hl7.fhir.r4.examples@4.0.1=sha512-DXBdIZOeQaSKIgCU7w6HOC7sw/6BzylmipLkBW4f//pT+Bc94x+8LImwTdvaNThPJoOzpBzvxAzNqjeu3X/zLw==
hl7.fhir.us.mcode@4.0.0=sha512-HJogFi9rQetIUE8gqKFq2tt4I8ukdH3PUCQO5jBiKxYUgh+vrlXvkWkt/XuYOzpNPdfRmsj3LG4UJm5o1g2OlA=="
if command -v npm >/dev/null && command -v node >/dev/null; then
  if [ ! -f node_modules/@medplum/core/package.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    npm ci --silent --no-audit --no-fund >/dev/null 2>&1 \
      || echo "setup: npm ci failed; the FHIR validation tests will be skipped" >&2
  fi
  mkdir -p tests/.fhir-packages
  for spec in $FHIR_PACKAGES; do
    pkg="${spec%%=*}"; want="${spec#*=}"; dir="tests/.fhir-packages/${pkg/@/-}"
    [ -f "$dir/package/package.json" ] && continue
    tmp="$(mktemp -d)"
    if (cd "$tmp" && npm pack --silent "$pkg" >/dev/null 2>&1); then
      tgz="$(ls "$tmp"/*.tgz)"
      got="$(node -e 'const c = require("crypto"), f = require("fs");
        process.stdout.write("sha512-" + c.createHash("sha512").update(f.readFileSync(process.argv[1])).digest("base64"))' "$tgz")"
      if [ "$got" = "$want" ]; then
        mkdir -p "$dir" && tar xzf "$tgz" -C "$dir"
      else
        echo "setup: $pkg does not match its pinned sha512; not used" >&2
      fi
    else
      echo "setup: could not fetch $pkg; the FHIR example tests will be skipped" >&2
    fi
    rm -rf "$tmp"
  done
else
  echo "setup: Node.js/npm not found; the FHIR validation and example tests will be skipped" >&2
fi
# --- end FHIR ------------------------------------------------------------------------------------
