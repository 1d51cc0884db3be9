"""apache-libcloud adapter (`type: libcloud`): the long tail of storage providers, through any
libcloud storage driver named by its Provider constant (LOCAL, AZURE_BLOBS, GOOGLE_STORAGE...).

It honours the contract where the driver can and declares the rest in
`capabilities.lacks` (see profiles.py). Uploads go through files, never generators
(libcloud's generator uploads mis-hash on several drivers), after Sortie has checked the SHA-256.
Prefer a native adapter (s3, azure, swift) where one exists: they list with server-side cursors,
copy server-side and upload in verified parts.
"""
