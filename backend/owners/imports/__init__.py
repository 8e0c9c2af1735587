"""Getting the company's spreadsheets into the records: `python -m backend import --help`.

reader (CSV/.xlsx rows) → fields (one cell, checked) → kinds (one row → one record, natural
keys) → runner (check all, then upsert in one transaction).
"""

from backend.owners.imports.kinds import KINDS, ORDER
from backend.owners.imports.runner import (
    FolderFile,
    ImportFailed,
    Report,
    RowError,
    files_in,
    import_file,
    import_files,
    scan_folder,
)

__all__ = [
    "KINDS",
    "ORDER",
    "FolderFile",
    "ImportFailed",
    "Report",
    "RowError",
    "files_in",
    "import_file",
    "import_files",
    "scan_folder",
]
