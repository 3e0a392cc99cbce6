#!/usr/bin/env bash
# Fetch deid's recipe of known burned-in text regions (deid/data/deid.dicom, MIT, from
# pydicom/deid: the CTP DicomPixelAnonymizer rules and others) for
# `dicom-deid policy --deid-recipe target/deid/deid.dicom`, which turns the rules it can express
# into pixels.regions (src/policy/deid_rules.rs). The recipe ships inside deid's PyPI package: we
# download that package at a pinned version, extract the file and check its pinned sha256.
# It is never committed: it goes to target/deid/deid.dicom with the package's LICENSE.
#
#   bash tools/fetch-deid-rules.sh
#   DEID_VERSION=0.4.14 DEID_SHA256=PIN_ME bash tools/fetch-deid-rules.sh   # prints the new sha256
set -euo pipefail
cd "$(dirname "$0")/.."
. tools/lib/pypi.sh
# The wheel is pure Python (deid-<version>.dist-info/licenses/LICENSE, MIT).
pypi_member deid "${DEID_VERSION:-0.4.13}" deid/data/deid.dicom \
  "${DEID_SHA256:-5cbb875d5db37d5f61d04ecb8afdf2dc87ef49c0219b86d915a2036ff589aacd}" target/deid/deid.dicom
