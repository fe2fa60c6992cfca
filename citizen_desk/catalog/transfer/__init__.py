"""Moving the catalog in and out as a file: ``catalog import|export`` (``cli.py``), the
importer (``importer.py`` with ``rules.py`` and ``support.py``) and the exporter."""
