"""Reading uploaded files defensively: size limits, ZIP bombs, encodings, JSON errors.

Every importer reads through here, so every bad file fails the same way: with an
InvalidImportFile whose message names the file and says what to do.
"""

import io
import json
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

from django.conf import settings

from ingestion.files.errors import InvalidImportFile

# Text (JSON, CSV) compresses well, but real exports stay far below this; a
# member inflating more than this is built to exhaust memory, not to be read.
MAX_COMPRESSION_RATIO = 100
# Tiny members can have any ratio without harm.
RATIO_CHECK_MIN_BYTES = 1024 * 1024
_READ_CHUNK = 1024 * 1024
_RAISE = (
    "Real exports are far smaller: if this one really is that big, whoever runs this app "
    "can raise the limit."
)
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
_UTF8_BOM = b"\xef\xbb\xbf"


def max_file_bytes():
    return settings.IMPORT_MAX_FILE_BYTES


def max_decompressed_bytes():
    """The most bytes one import inflates from a ZIP, or reads of a playlist file."""
    return min(settings.IMPORT_MAX_DECOMPRESSED_BYTES, settings.IMPORT_MAX_FILE_BYTES)


def _megabytes(size):
    return f"{size / (1024 * 1024):.1f} MB"


def read_file_bytes(path: Path) -> bytes:
    """The file's bytes, refusing files over IMPORT_MAX_FILE_BYTES before reading them."""
    check_file_size(path)
    return path.read_bytes()


def read_playlist_file_bytes(path: Path) -> bytes:
    """An export JSON's or Exportify CSV's bytes: parsed whole, so held to
    IMPORT_MAX_DECOMPRESSED_BYTES too (it bounds what one import holds in memory)."""
    check_file_size(path)
    limit = max_decompressed_bytes()
    size = path.stat().st_size
    if size > limit:
        raise InvalidImportFile(
            f"{path.name} is {_megabytes(size)}, over the import limit of {_megabytes(limit)} "
            f"for one playlist file (IMPORT_MAX_DECOMPRESSED_BYTES). {_RAISE}"
        )
    return path.read_bytes()


def check_file_size(path: Path):
    limit = max_file_bytes()
    size = path.stat().st_size
    if size > limit:
        raise InvalidImportFile(
            f"{path.name} is {_megabytes(size)}, over the import limit of {_megabytes(limit)} "
            "(IMPORT_MAX_FILE_BYTES). Split it into smaller files, or raise the limit."
        )


def decode_text(data: bytes, *, source: str) -> str:
    """UTF-8 (with or without a byte-order mark) or BOM-marked UTF-16, else a clear refusal.

    Latin-1/Windows-1252 is refused rather than guessed: a wrong guess would load
    mangled names silently, and every tool that writes these files writes UTF-8.
    """
    if data.startswith(_UTF16_BOMS):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as error:
            raise _not_text(source, error, "UTF-16") from error
    try:
        return data.removeprefix(_UTF8_BOM).decode("utf-8")
    except UnicodeDecodeError as error:
        raise _not_text(source, error, "UTF-8") from error


def text_stream(data: bytes, *, source: str) -> io.TextIOBase:
    """`data` as a text stream (for the csv module), refused the way
    `decode_text` refuses bad text. It decodes as it is read: an io.StringIO of
    the whole text would take 4 bytes a character."""
    decode_text(data, source=source)  # only to check it
    encoding = "utf-16" if data.startswith(_UTF16_BOMS) else "utf-8-sig"
    return io.TextIOWrapper(io.BytesIO(data), encoding=encoding, newline="")


def _not_text(source, error, encoding):
    byte = error.object[error.start : error.start + 1].hex().upper()
    return InvalidImportFile(
        f"{source} is not valid {encoding} text (byte 0x{byte} at offset {error.start}). "
        "It may have been saved as Latin-1/Windows-1252 by a spreadsheet program: "
        "re-save it as UTF-8 (e.g. “CSV UTF-8”) or download the original file again."
    )


def parse_json(text: str, *, source: str):
    try:
        return json.loads(text)
    except RecursionError as error:
        raise too_deep(source) from error
    except json.JSONDecodeError as error:
        # A cut-off file fails at its very end, or inside a string it never closes.
        truncated = error.pos >= len(text.rstrip()) or error.msg.startswith("Unterminated")
        hint = (
            "The file ends too early: it was probably cut off while downloading or "
            "copying. Download it again."
            if truncated
            else "The file is damaged or was edited by hand; download it again."
        )
        raise InvalidImportFile(
            f"{source} is not valid JSON: {error.msg} at line {error.lineno}, "
            f"column {error.colno}. {hint}"
        ) from error
    except ValueError as error:
        # Python refuses to turn more than sys.get_int_max_str_digits() digits
        # into an int (quadratic time): no real export has such a number.
        raise InvalidImportFile(
            f"{source} holds a number of more than {sys.get_int_max_str_digits()} digits, "
            "which no Spotify export or playlist file has: the file is damaged or was made "
            "by hand; download it again."
        ) from error


def too_deep(source):
    """The refusal of a file whose JSON nests deeper than Python can follow."""
    return InvalidImportFile(
        f"{source} has lists or objects nested too deeply to read (thousands of levels; "
        "real exports nest a few). The file is damaged or was made by hand; download it again."
    )


def read_json_file(path: Path):
    return parse_json(decode_text(read_file_bytes(path), source=path.name), source=path.name)


def iter_zip_members(path: Path, wanted, *, order=None) -> Iterator[tuple[str, bytes]]:
    """(name, bytes) of each member whose ZipInfo `wanted` accepts, one at a time,
    sorted by `order(name)` if given (else in archive order).

    The caller holds one member at a time, so memory follows the largest member,
    not the archive. Guards against decompression bombs: declared sizes, the
    declared compression ratio, and a budget on the bytes actually inflated over
    all members (IMPORT_MAX_DECOMPRESSED_BYTES), counted as they stream, since
    declared sizes can lie and small members skip the ratio check.
    """
    check_file_size(path)
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile as error:
        raise InvalidImportFile(
            f"{path.name} is not a ZIP archive (or a damaged one), although its name ends in "
            ".zip. Upload the ZIP exactly as Spotify sent it, or the Playlist1.json inside it."
        ) from error
    with archive:
        members = [info for info in archive.infolist() if not info.is_dir() and wanted(info)]
        if order is not None:
            members.sort(key=lambda info: order(info.filename))
        budget = max_decompressed_bytes()
        for info in members:
            _check_declared_size(path, info, budget)
            data = _read_member(path, archive, info, budget)
            budget -= len(data)
            yield info.filename, data
            del data  # released before the next member is inflated


def _check_declared_size(path, info, budget):
    if info.file_size > budget:
        raise InvalidImportFile(
            f"{path.name}: {info.filename} would unpack to {_megabytes(info.file_size)}, "
            f"over what is left of the import limit of {_megabytes(max_decompressed_bytes())} "
            f"for the playlist files of one export (IMPORT_MAX_DECOMPRESSED_BYTES). {_RAISE}"
        )
    ratio = info.file_size / max(info.compress_size, 1)
    if info.file_size > RATIO_CHECK_MIN_BYTES and ratio > MAX_COMPRESSION_RATIO:
        raise InvalidImportFile(_bomb_message(path, info.filename))


def _read_member(path, archive, info, budget):
    """Inflate one member, stopping as soon as it exceeds what is left of the budget."""
    chunks, size = [], 0
    try:
        with archive.open(info) as member:
            while chunk := member.read(_READ_CHUNK):
                size += len(chunk)
                if size > budget:
                    raise InvalidImportFile(_bomb_message(path, info.filename))
                chunks.append(chunk)
    except (zipfile.BadZipFile, RuntimeError, OSError, EOFError) as error:
        # RuntimeError: encrypted member; BadZipFile/EOFError: damaged or truncated archive.
        raise InvalidImportFile(
            f"{path.name}: {info.filename} cannot be unpacked ({error}). The archive is "
            "damaged or encrypted: download the export again."
        ) from error
    return b"".join(chunks)


def _bomb_message(path, member):
    return (
        f"{path.name}: {member} unpacks to far more data than its compressed size suggests, "
        f"or the archive's playlist files to more than the import limit of "
        f"{_megabytes(max_decompressed_bytes())} (IMPORT_MAX_DECOMPRESSED_BYTES). It does not "
        "look like a Spotify export, so it was not read."
    )
