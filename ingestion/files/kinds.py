"""Item kinds the files have and `ingestion.snapshot.ItemKind` does not (yet)."""

from enum import StrEnum

from ingestion.snapshot import ItemKind


class _FileItemKind(StrEnum):
    AUDIOBOOK = "audiobook"


# Audiobook chapters are skipped like episodes but counted under their own
# reason. The transform counts any non-row kind by its `.value`, so a kind of
# our own works until ItemKind gains the member (then that one is used).
AUDIOBOOK = getattr(ItemKind, "AUDIOBOOK", _FileItemKind.AUDIOBOOK)
