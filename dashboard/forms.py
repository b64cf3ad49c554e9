from django import forms

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
