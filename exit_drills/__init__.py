"""Exit drills: copy a dataset to another backend, verify every byte, report (see issue: drills)."""
