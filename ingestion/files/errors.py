"""The one exception the file importers raise for a file that cannot be imported."""


class InvalidImportFile(ValueError):
    """A file that cannot be imported. The message is for people: it says what is
    wrong (and where: file, playlist, line) and what to do about it."""
