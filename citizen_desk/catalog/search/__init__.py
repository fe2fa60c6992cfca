"""Finding services: the folded-word index (``index.py``), its tables (``models.py``) and
the per-revision cache of results (``cache.py``)."""
