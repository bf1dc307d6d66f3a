#!/bin/sh
# One-shot bucket bootstrap, run by the minio-init service (minio/mc image) once MinIO is healthy.
# Idempotent: re-running it against an existing bucket changes nothing.
set -eu

: "${MINIO_ENDPOINT:?set MINIO_ENDPOINT, e.g. http://minio:9000}"
: "${MINIO_ROOT_USER:?set MINIO_ROOT_USER}"
: "${MINIO_ROOT_PASSWORD:?set MINIO_ROOT_PASSWORD}"
: "${CARGOHOLD_S3_BUCKET:?set CARGOHOLD_S3_BUCKET}"

# Healthy is not always ready for admin calls yet: retry the login for a while.
tries=0
until mc alias set cargohold "$MINIO_ENDPOINT" "$MINIO_ROOT_USER" "$MINIO_ROOT_PASSWORD" >/dev/null 2>&1; do
  tries=$((tries + 1))
  if [ "$tries" -ge 30 ]; then
    echo "minio-init: cannot log in to $MINIO_ENDPOINT as $MINIO_ROOT_USER after 30 attempts" >&2
    mc alias set cargohold "$MINIO_ENDPOINT" "$MINIO_ROOT_USER" "$MINIO_ROOT_PASSWORD"
    exit 1
  fi
  sleep 1
done

mc mb --ignore-existing "cargohold/$CARGOHOLD_S3_BUCKET"
echo "minio-init: bucket $CARGOHOLD_S3_BUCKET is ready"
