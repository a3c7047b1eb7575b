"""`make bench`: a production-like load benchmark of the /api/v2 engine (see bench/README.md)."""
