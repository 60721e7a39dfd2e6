"""Object storage for clips and snapshots: a local-directory backend and an S3 backend (minio SDK)."""
