"""S3 and S3-compatible backends (`type: s3`): AWS, OVHcloud, Scaleway, Outscale, Clever Cloud,
Cloud Temple, NumSpot, IONOS, MinIO, SeaweedFS, Swift's s3api. See store.py for how puts keep
integrity and atomic visibility, presets.py for provider presets, family.py for the record the
registry builds stores from."""
