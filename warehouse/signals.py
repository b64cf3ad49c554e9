"""What the warehouse tells the layers above it, without importing them.

`playlists_loaded` is sent inside the transaction of every load
(`warehouse.loader.load_playlists`: a Spotify read, a file import, an MPD slice, an
enrichment; `warehouse.bulk.load_new_playlists`: an MPD slice of new playlists),
with `playlist_ids`, the playlists that load wrote (or counted: a load that writes
no row still moves the caches' stamp). A receiver that acts on the committed data
registers `transaction.on_commit` itself: a load rolled back sends nothing that
lasts. `ingestion.across_warm` warms the pages across playlists of everyone who sees
them.
"""

from django.dispatch import Signal

playlists_loaded = Signal()
