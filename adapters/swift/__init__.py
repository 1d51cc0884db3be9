"""OpenStack Swift adapter (`type: swift`): OVHcloud and other OpenStack clouds (Keystone v3), or
any Swift behind v1 tempauth.

Client: python-swiftclient (with keystoneauth1 for Keystone v3), not apache-libcloud's Swift
driver. swiftclient is the OpenStack project's own client: it streams uploads from an iterator
(chunked) or a file, takes an ETag for Swift to check, passes query strings such as
`multipart-manifest=put|get`, so Static Large Objects work as Swift documents them, and retries
idempotent calls with bounded backoff. libcloud's driver raises ObjectHashMismatchError on stream
uploads (it hashes the exhausted iterator, after the object was stored anyway) and its multipart
upload fails, so it could honour neither "verified" nor "large objects" here.

Modules: auth (login, one connection per thread), errors (translation, once), segments (SLO
segment streaming), store (the contract), preset (provider files under presets/), family (the
record the registry builds stores from).
"""
