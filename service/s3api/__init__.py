"""The S3-compatible front (`sortie serve --s3-port`): S3 clients over the gateway's service layer."""
