"""`manage.py history REF`: a playlist's versions, or its state as of one.

    manage.py history REF [--since DATE] [--json]        the versions and their changes
    manage.py history REF --as-of VERSION|DATE|DATETIME  that state (one row per track)

REF is a Spotify playlist id, URL or URI, or a warehouse id (`export:…`,
`exportify:…`, `mpd:…`). A date or time is the version current then, read as
UTC unless it says its offset; the versions list prints them the same way.
"""

import contextlib
import datetime as dt
import json

from django.core.management.base import BaseCommand, CommandError
from django.core.serializers.json import DjangoJSONEncoder

from ingestion.references import InvalidPlaylistReference, parse_playlist_id
from warehouse import queries
from warehouse.history import MOMENT_FORMATS, parse_moment
from warehouse.models import Playlist


class Command(BaseCommand):
    help = "Print a playlist's versions (what changed when), or its state as of a version or date."

    def add_arguments(self, parser):
        parser.add_argument("reference", help="playlist id, URL or URI, or a warehouse id")
        parser.add_argument("--since", help="only versions seen on or after this date (ISO)")
        parser.add_argument(
            "--as-of",
            dest="as_of",
            help="a version number, or an ISO date or date/time: print that state",
        )
        parser.add_argument("--json", action="store_true", help="print JSON instead of text")

    def handle(self, *args, **options):
        playlist_id = self._playlist_id(options["reference"])
        if options["as_of"]:
            self._print_state(playlist_id, options["as_of"], as_json=options["json"])
        else:
            since = options["since"] and _moment(options["since"], "--since", day_end=False)
            self._print_versions(playlist_id, since, as_json=options["json"])

    def _playlist_id(self, reference):
        candidates = [reference]
        with contextlib.suppress(InvalidPlaylistReference):
            candidates.append(parse_playlist_id(reference))
        for candidate in candidates:
            if Playlist.objects.filter(pk=candidate).exists():
                return candidate
        raise CommandError(
            f"No playlist {reference!r} in the warehouse. Load it first "
            "(manage.py ingest REF), or check the id with the admin's playlist list."
        )

    def _print_versions(self, playlist_id, since, *, as_json):
        versions = queries.playlist_versions(playlist_id=playlist_id, since=since)
        if as_json:
            self.stdout.write(_json({"playlist_id": playlist_id, "versions": versions}))
            return
        if not versions:
            self.stdout.write(f"{playlist_id}: no versions" + (" since then." if since else "."))
            return
        for version in versions:
            self.stdout.write(_version_line(version))

    def _print_state(self, playlist_id, as_of, *, as_json):
        version = _version_number(playlist_id, as_of)
        rows = queries.playlist_rows_as_of(playlist_id=playlist_id, version=version)
        tracks = [{name: row[name] for name in queries.VERSION_TRACK_FIELDS} for row in rows]
        if as_json:
            self.stdout.write(
                _json({"playlist_id": playlist_id, "version": version, "tracks": tracks})
            )
            return
        self.stdout.write(f"{playlist_id} as of version {version}: {len(tracks)} tracks")
        for track in tracks:
            artists = ", ".join(track["artist_names"])
            self.stdout.write(f"{track['position'] + 1:>5}. {track['track_name']} — {artists}")


def _version_number(playlist_id, as_of):
    latest = queries.latest_version(playlist_id=playlist_id)
    if latest is None:
        raise CommandError(f"{playlist_id} has no versions yet.")
    if as_of.isdigit():
        version = int(as_of)
        if not 1 <= version <= latest:
            raise CommandError(f"{playlist_id} has versions 1 to {latest}; there is no {version}.")
        return version
    moment = _moment(as_of, "--as-of")
    version = queries.version_at(playlist_id=playlist_id, when=moment)
    if version is None:
        raise CommandError(f"{playlist_id} was first seen after {moment.isoformat()}.")
    return version


def _moment(text, option, *, day_end=True):
    try:
        return parse_moment(text, day_end=day_end)
    except ValueError:
        raise CommandError(
            f"{option} {text!r} is not a version number, {MOMENT_FORMATS}."
        ) from None


def _version_line(version):
    changes = [
        f"+{version['added']}",
        f"-{version['removed']}",
        f"~{version['moved']} moved",
    ]
    for flag, label in (
        ("renamed", f"renamed to {version['name']!r}"),
        ("redescribed", "description changed"),
        ("cover_changed", "cover changed"),
    ):
        if version[flag]:
            changes.append(label)
    seen = version["seen_at"].astimezone(dt.UTC).isoformat(timespec="seconds")
    snapshot = f" snapshot {version['snapshot_id']}" if version["snapshot_id"] else ""
    return (
        f"v{version['version']}  {seen}  {version['tracks']} tracks  "
        f"{' '.join(changes)}  ({version['source']}{snapshot})"
    )


def _json(value):
    return json.dumps(value, cls=DjangoJSONEncoder, ensure_ascii=False)
