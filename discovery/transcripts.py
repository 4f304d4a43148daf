"""Uploaded transcripts (.txt, .vtt, .srt) turned into the plain text an interview keeps.

Subtitle files lose their cue numbers, timestamps and styling; what people said stays, one turn
per paragraph, with the speaker's name in front when the file names one. A file that is not what
its name claims (binary, not UTF-8, no cues) is refused with a reason, never half-read.
"""

from __future__ import annotations

import html
import re
from pathlib import PurePath

from discovery.models import TRANSCRIPT_MAX_CHARS
from pmhub.core.exceptions import ApplicationError

# UTF-8 needs at most 4 bytes a character; a file past this cannot fit the character limit.
MAX_UPLOAD_BYTES = 2 * 1024 * 1024
EXTENSIONS = (".txt", ".vtt", ".srt")

_TIMING = re.compile(
    r"^\s*(?:\d{1,2}:)?\d{1,2}:\d{2}[.,]\d{1,3}\s*-->\s*(?:\d{1,2}:)?\d{1,2}:\d{2}[.,]\d{1,3}"
)
_VOICE = re.compile(r"<v(?:\.[\w.-]+)?\s+([^>]+)>", re.IGNORECASE)
_TAG = re.compile(r"</?[a-zA-Z][^>]*>|<\d{1,2}:\d{2}(?::\d{2})?[.,]\d{1,3}>")
_SSA = re.compile(r"\{\\[^}]*\}")
_SPEAKER = re.compile(r"^([^\s:][^:]{0,60}):\s+(.*)$", re.DOTALL)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class TranscriptFileError(ApplicationError):
    """An uploaded transcript cannot be read; the message says why and what to do."""


def parse_transcript(data: bytes, filename: str) -> str:
    """The plain transcript text of an uploaded .txt, .vtt or .srt file."""
    extension = PurePath(filename or "").suffix.lower()
    if extension not in EXTENSIONS:
        raise TranscriptFileError(
            f"{filename or 'This file'} is not a transcript: upload a .txt, .vtt or .srt file."
        )
    if len(data) > MAX_UPLOAD_BYTES:
        raise TranscriptFileError(
            f"{filename} is {len(data) / 1024 / 1024:.1f} MB; the limit is "
            f"{MAX_UPLOAD_BYTES // 1024 // 1024} MB."
        )
    text = _decode(data, filename)
    if extension == ".vtt":
        text = _from_cues(text, filename, webvtt=True)
    elif extension == ".srt":
        text = _from_cues(text, filename, webvtt=False)
    text = text.strip("\n")
    if not text.strip():
        raise TranscriptFileError(f"{filename} holds no text.")
    if len(text) > TRANSCRIPT_MAX_CHARS:
        raise TranscriptFileError(
            f"{filename} has {len(text):,} characters; the limit is {TRANSCRIPT_MAX_CHARS:,}."
        )
    return text


def _decode(data: bytes, filename: str) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise TranscriptFileError(f"{filename} is not readable UTF-16 text.") from exc
    else:
        if b"\x00" in data:
            raise TranscriptFileError(f"{filename} is a binary file, not a text transcript.")
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise TranscriptFileError(
                f"{filename} is not UTF-8 text (byte {exc.start + 1} cannot be read). "
                "Save it as UTF-8 and upload it again."
            ) from exc
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    controls = len(_CONTROL.findall(text))
    if controls and controls > len(text) // 100:
        raise TranscriptFileError(f"{filename} is a binary file, not a text transcript.")
    return _CONTROL.sub("", text)


def _from_cues(text: str, filename: str, *, webvtt: bool) -> str:
    blocks = re.split(r"\n\s*\n", text.strip("\n"))
    if webvtt:
        if not blocks or not blocks[0].lstrip("\ufeff").startswith("WEBVTT"):
            raise TranscriptFileError(
                f"{filename} is not a WebVTT file: it must start with WEBVTT."
            )
        blocks = blocks[1:]
    turns: list[list[str]] = []  # [speaker, text]
    cues = 0
    for block in blocks:
        lines = block.split("\n")
        timing = next((i for i, line in enumerate(lines) if _TIMING.match(line)), None)
        if timing is None:
            continue  # NOTE, STYLE and REGION blocks, or stray lines between cues.
        cues += 1
        payload = " ".join(line.strip() for line in lines[timing + 1 :] if line.strip())
        speaker, words = _speaker_and_words(payload)
        if not words:
            continue
        if turns and not speaker and not turns[-1][0]:
            turns[-1][1] += "\n" + words  # Unnamed cues: one line each, as captioned.
        elif turns and (speaker == turns[-1][0] or not speaker):
            turns[-1][1] += " " + words  # The same person goes on speaking.
        else:
            turns.append([speaker, words])
    if not cues:
        kind = "WebVTT" if webvtt else "SubRip (.srt)"
        raise TranscriptFileError(f"{filename} has no {kind} cues (lines like 00:00:01,000 --> …).")
    return "\n\n".join(f"{speaker}: {words}" if speaker else words for speaker, words in turns)


def _speaker_and_words(payload: str) -> tuple[str, str]:
    speaker = ""
    voice = _VOICE.search(payload)
    if voice:
        speaker = voice.group(1).strip()
    words = html.unescape(_SSA.sub("", _TAG.sub("", payload)))
    words = re.sub(r"\s+", " ", words).strip()
    if not speaker:
        named = _SPEAKER.match(words)
        if named:
            speaker, words = named.group(1).strip(), named.group(2).strip()
    return speaker, words
