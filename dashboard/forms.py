from django import forms
from django.conf import settings

from ingestion.files.mpd import SLICE_FILE as MPD_SLICE_FILE
from ingestion.references import ACCEPTED_FORMS, InvalidPlaylistReference, parse_playlist_id


class AddPlaylistForm(forms.Form):
    reference = forms.CharField(
        label="Playlist link, URI or id",
        max_length=500,
        help_text=f"Paste {ACCEPTED_FORMS}.",
        widget=forms.TextInput(
            attrs={
                "placeholder": "https://open.spotify.com/playlist/…",
                "autocomplete": "off",
                "spellcheck": "false",
            }
        ),
    )

    def clean_reference(self):
        reference = self.cleaned_data["reference"].strip()
        try:
            parse_playlist_id(reference)
        except InvalidPlaylistReference as error:
            # Its message is written for people: show it as it is.
            raise forms.ValidationError(str(error), code="invalid_reference") from error
        return reference


# Files the upload page takes: a Spotify account data export (the ZIP, or a
# Playlist*.json from it) or an Exportify CSV. MPD slices are a dataset, not a
# person's playlists: they go through `manage.py ingest`.
UPLOAD_SUFFIXES = (".zip", ".json", ".csv")
# A web worker receives the whole upload; past this, a file belongs to the
# `ingest` command (real exports are far smaller: a few MB at most).
WEB_UPLOAD_MAX_BYTES = 50 * 1024 * 1024


def mpd_refusal(name):
    """Why a Million Playlist Dataset slice is not taken here (by name or by content)."""
    return (
        f"{name} is a Million Playlist Dataset slice: import the dataset with "
        "`manage.py ingest <folder>` on the server, not through this page."
    )


def upload_max_bytes():
    return min(settings.IMPORT_MAX_FILE_BYTES, WEB_UPLOAD_MAX_BYTES)


def _megabytes(size):
    return f"{size / (1024 * 1024):.1f} MB"


class UploadExportForm(forms.Form):
    file = forms.FileField(
        label="Export file",
        help_text=(
            "Your Spotify account data export (the ZIP, or Playlist1.json inside it) "
            "or an Exportify CSV."
        ),
        widget=forms.ClearableFileInput(attrs={"accept": ",".join(UPLOAD_SUFFIXES)}),
    )
    enrich = forms.BooleanField(
        label="Fill in durations, release dates and genres from Spotify",
        help_text="Exports leave them out; Spotify is asked once per track and artist.",
        required=False,
        initial=True,
    )

    def __init__(self, *args, can_enrich=False, **kwargs):
        super().__init__(*args, **kwargs)
        # Without a Spotify connection or app credentials there is no one to ask.
        if not can_enrich:
            del self.fields["enrich"]

    def clean_file(self):
        upload = self.cleaned_data["file"]
        name = upload.name or ""
        if MPD_SLICE_FILE.match(name):
            raise forms.ValidationError(mpd_refusal(name), code="mpd")
        if not name.lower().endswith(UPLOAD_SUFFIXES):
            raise forms.ValidationError(
                f"{name} is not a file this page imports: upload a Spotify export "
                "(.zip or .json) or an Exportify CSV (.csv).",
                code="file_type",
            )
        limit = upload_max_bytes()
        if upload.size > limit:
            raise forms.ValidationError(
                f"{name} is {_megabytes(upload.size)}, over the upload limit of "
                f"{_megabytes(limit)}. Upload Playlist1.json rather than the whole ZIP, "
                "or import the file with `manage.py ingest`.",
                code="too_big",
            )
        if upload.size == 0:
            raise forms.ValidationError(f"{name} is empty.", code="empty")
        return upload
