"""Spotify's published Web API contract as a validator, for the sandbox's contract test.

The contract is the vendored OpenAPI description (``spotify_openapi/spotify-openapi.yml``, see its
README); answers are checked against its response schemas with openapi-schema-validator's OAS 3.0
validator. Where the description contradicts Spotify's documented behaviour
(docs/spotify-web-api.md, which wins), the contradiction is allowed here and only here: each
``Allowance`` below names one, says why, and edits an in-memory copy of the description (the
vendored file stays as published). Nothing else is relaxed.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import yaml
from jsonschema.exceptions import ValidationError
from openapi_schema_validator import OAS30Validator
from referencing import Registry
from referencing.jsonschema import DRAFT4

from devtools.sandbox import DEVELOPMENT, EXTENDED, MODES

SPEC_PATH = Path(__file__).parent / "spotify_openapi" / "spotify-openapi.yml"
#: The description's name in the validator's registry; its own ``#/components/...`` refs resolve
#: inside it.
SPEC_URI = "urn:spotify-openapi"
#: The description's shared error answers, for statuses an operation does not list (it lists
#: 401, 403 and 429 only; Spotify also answers 400, 404 and 5xx in the same error shape).
SHARED_ERROR_RESPONSES = {400: "BadRequest", 404: "NotFound"}
SERVER_ERROR_RESPONSE = "BadRequest"  # 5xx: not described; the same {"error": ErrorObject}
LOCAL_FILE_TRACK = "LocalFileTrack"

Spec = dict


def _schemas(spec: Spec) -> dict:
    return spec["components"]["schemas"]


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _or_null(schema: dict) -> dict:
    """``schema`` or null (OAS 3.0's ``nullable`` only works beside a ``type``, and these
    properties are ``allOf``/``oneOf`` wrappers)."""
    return {"anyOf": [schema, {"enum": [None]}]}


def _relaxed(schema: dict, *, nullable=(), optional=()) -> dict:
    """A copy of an object schema whose ``nullable`` properties may be null and whose
    ``optional`` ones need not be there."""
    out = copy.deepcopy(schema)
    for name in nullable:
        out["properties"][name] = _or_null(out["properties"][name])
    if "required" in out:
        out["required"] = [name for name in out["required"] if name not in optional]
    return out


# --- the allowances: one per known contradiction -------------------------------------------
def _map_discriminators(spec: Spec) -> None:
    item = _schemas(spec)["PlaylistTrackObject"]["properties"]
    for key in ("item", "track"):
        item[key]["discriminator"]["mapping"] = {
            "track": "#/components/schemas/TrackObject",
            "episode": "#/components/schemas/EpisodeObject",
        }


def _nullable_playlist_images(spec: Spec) -> None:
    for name in ("PlaylistObject", "SimplifiedPlaylistObject"):
        _schemas(spec)[name]["properties"]["images"]["nullable"] = True


def _nullable_item_fields(spec: Spec) -> None:
    item = _schemas(spec)["PlaylistTrackObject"]["properties"]
    for key in ("added_at", "added_by", "item", "track"):
        item[key] = _or_null(item[key])


def _local_file_stubs(spec: Spec) -> None:
    schemas = _schemas(spec)
    schemas["LocalFileArtist"] = _relaxed(
        schemas["SimplifiedArtistObject"], nullable=("href", "id", "uri")
    )
    album = _relaxed(
        schemas["AlbumBase"],
        nullable=("album_type", "href", "id", "release_date", "release_date_precision", "uri"),
        optional=("total_tracks", "available_markets"),
    )
    album["properties"]["artists"] = {"type": "array", "items": _ref("LocalFileArtist")}
    schemas["LocalFileAlbum"] = album
    track = _relaxed(schemas["TrackObject"], nullable=("href",))
    track["properties"] |= {
        "album": _ref("LocalFileAlbum"),
        "artists": {"type": "array", "items": _ref("LocalFileArtist")},
        # What makes it a local file, so that no Spotify track passes as one.
        "id": {"enum": [None]},
        "is_local": {"type": "boolean", "enum": [True]},
        "uri": {"type": "string", "pattern": "^spotify:local:"},
    }
    track["required"] = ["album", "artists", "id", "is_local", "name", "type", "uri"]
    schemas[LOCAL_FILE_TRACK] = track
    item = schemas["PlaylistTrackObject"]["properties"]
    for key in ("item", "track"):
        item[key] = {"anyOf": [item[key], _ref(LOCAL_FILE_TRACK)]}


def _no_markets_in_development(spec: Spec) -> None:
    for name in ("AlbumBase", "ShowBase"):
        schema = _schemas(spec)[name]
        schema["required"] = [key for key in schema["required"] if key != "available_markets"]


@dataclass(frozen=True)
class Allowance:
    """One place where the published description contradicts documented behaviour."""

    name: str
    why: str
    modes: tuple[str, ...]
    apply: Callable[[Spec], None]


ALLOWANCES = (
    Allowance(
        "discriminator mapping",
        "The item's `oneOf` has a `discriminator` on `type` with no `mapping`, so a strict "
        "validator looks for a schema named `track`; map `track` and `episode` to TrackObject "
        "and EpisodeObject, which is what the description means.",
        MODES,
        _map_discriminators,
    ),
    Allowance(
        "nullable playlist images",
        "`images` of a playlist is not nullable, yet Spotify answers `images: null` for a "
        "playlist without a cover.",
        MODES,
        _nullable_playlist_images,
    ),
    Allowance(
        "nullable item fields",
        "A playlist item's `added_at`, `added_by` and `item` (`track`) are not nullable, though "
        "their own descriptions say they can be null: very old playlists have no date or adder, "
        "unavailable content has no item.",
        MODES,
        _nullable_item_fields,
    ),
    Allowance(
        "local-file stubs",
        "A local file's item is a stub: `is_local: true`, null `id`, `href` and album/artist "
        "ids, a `spotify:local:` URI, and an album without `total_tracks` or a release date. "
        "Only an item with all of that passes as one.",
        MODES,
        _local_file_stubs,
    ),
    Allowance(
        "no available_markets in Development Mode",
        "AlbumBase and ShowBase still require `available_markets`, which Spotify removed from "
        "answers to Development Mode apps (2026-02); Extended Quota answers must carry it.",
        (DEVELOPMENT,),
        _no_markets_in_development,
    ),
)


@functools.cache
def published_spec() -> Spec:
    with SPEC_PATH.open(encoding="utf-8") as f:
        return yaml.safe_load(f)


@functools.cache
def _registry(mode: str) -> Registry:
    spec = copy.deepcopy(published_spec())
    for allowance in ALLOWANCES:
        if mode in allowance.modes:
            allowance.apply(spec)
    return Registry().with_resource(SPEC_URI, DRAFT4.create_resource(spec))


def response_name(path: str, status: int) -> str:
    """The description's response for a GET of ``path`` (as written there, e.g.
    ``/playlists/{playlist_id}``) answered with ``status``."""
    responses = published_spec()["paths"][path]["get"]["responses"]
    declared = responses.get(str(status))
    if declared is not None:
        return declared["$ref"].rsplit("/", 1)[1]
    if status >= 500:
        return SERVER_ERROR_RESPONSE
    if status in SHARED_ERROR_RESPONSES:
        return SHARED_ERROR_RESPONSES[status]
    raise AssertionError(f"the description has no {status} answer for GET {path}")


def validator(path: str, status: int, mode: str) -> OAS30Validator:
    name = response_name(path, status)
    pointer = f"{SPEC_URI}#/components/responses/{name}/content/application~1json/schema"
    return OAS30Validator({"$ref": pointer}, registry=_registry(mode))


def _leaves(errors) -> Iterator[ValidationError]:
    """The innermost errors (those of anyOf/oneOf alternatives say where a match failed)."""
    for error in errors:
        if error.context:
            yield from _leaves(error.context)
        else:
            yield error


def violations(path: str, status: int, body, mode: str, limit: int = 8) -> list[str]:
    """Where ``body`` breaks the contract for GET ``path`` → ``status`` in ``mode`` (empty:
    it keeps it), at most ``limit`` lines of "JSON path: what is wrong"."""
    errors = list(validator(path, status, mode).iter_errors(body))
    lines = []
    for error in _leaves(errors):
        line = f"{error.json_path}: {error.message[:200]}"
        if line not in lines:
            lines.append(line)
        if len(lines) == limit:
            break
    return lines


def assert_keeps_contract(path: str, status: int, body, mode: str) -> None:
    problems = violations(path, status, body, mode)
    assert not problems, f"GET {path} ({status}, {mode} mode) breaks the contract:\n" + "\n".join(
        problems
    )


__all__ = ["ALLOWANCES", "DEVELOPMENT", "EXTENDED", "MODES", "assert_keeps_contract", "violations"]
