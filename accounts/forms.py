from django import forms
from django.contrib.auth.forms import UserCreationForm


class SignUpForm(UserCreationForm):
    """Django's sign-up form, plus the e-mail address the password reset needs.

    What it tells a stranger about existing accounts: only "A user with that
    username already exists." A username must be unique and the person must be
    told to pick another, so refusing a taken one is unavoidable. The e-mail
    address is deliberately not checked for uniqueness: "an account with this
    e-mail exists" would reveal who has an account, and the password reset
    already handles several accounts sharing one address (it mails each one).
    """

    # Required: the password reset mails a link to it.
    email = forms.EmailField(required=True, help_text="Used only to reset your password.")

    class Meta(UserCreationForm.Meta):
        fields = ("username", "email")
