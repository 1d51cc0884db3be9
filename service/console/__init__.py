"""The operator console at /console/: server-rendered pages (no script, no external asset: it
works offline) over the same state as the API, behind the same tokens (service/console/sessions.py).
Actions (start a drill, switch a route) are POST forms with a CSRF field and need the admin scope;
read-only tokens see the buckets their patterns cover."""
