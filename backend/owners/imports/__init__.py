"""Getting the company's spreadsheets into the records: `python -m backend import --help`.

reader (CSV/.xlsx rows) → fields (one cell, checked) → kinds (one row → one record, natural
keys) → runner (check all, then upsert in one transaction).
"""
from backend.owners.imports.kinds import KINDS, ORDER
from backend.owners.imports.runner import ImportFailed, Report, RowError, files_in, import_file, import_files

__all__ = ["KINDS", "ORDER", "ImportFailed", "Report", "RowError", "files_in", "import_file", "import_files"]
