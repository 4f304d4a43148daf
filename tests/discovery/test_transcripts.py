"""Uploaded transcripts: .txt, .vtt and .srt to plain text, and clear refusals."""

from __future__ import annotations

import pytest

from discovery.models import TRANSCRIPT_MAX_CHARS
from discovery.transcripts import MAX_UPLOAD_BYTES, TranscriptFileError, parse_transcript

VTT = """WEBVTT
Kind: captions
Language: en

NOTE This note is not part of what was said.

STYLE
::cue { color: yellow }

intro
00:00:01.000 --> 00:00:04.000 align:start position:10%
<v Ana Lopez>How do you share the roadmap?</v>

00:00:04.500 --> 00:00:07.250
<v.loud Peter>We export it to CSV &amp; it <i>times out</i>.</v>

00:00:07.250 --> 00:00:09.000
<v Peter>Every <00:00:08.000><c>Monday</c>.

00:00:09.500 --> 00:00:10.000
<v Ana Lopez>Thanks.
"""

SRT = """1
00:00:01,000 --> 00:00:03,500
ANA: How do you share it?

2
00:00:03,600 --> 00:00:06,000
PETER: We export it,
<i>and it times out.</i>

3
00:00:06,100 --> 00:00:08,000
{\\an8}Every single Monday.

4
00:00:08,100 --> 00:00:09,000
ANA: Ouch.
"""


def test_a_text_file_is_kept_as_is_with_plain_newlines():
    data = "\ufeffAna: Hello.\r\nPeter: Hi.\r\n".encode()

    assert parse_transcript(data, "call.TXT") == "Ana: Hello.\nPeter: Hi."


def test_a_utf16_text_file_with_a_byte_order_mark_is_read():
    assert parse_transcript("Ana: Olá".encode("utf-16"), "call.txt") == "Ana: Olá"


def test_webvtt_keeps_speakers_and_drops_header_notes_styles_cue_ids_and_timestamps():
    assert parse_transcript(VTT.encode(), "call.vtt") == (
        "Ana Lopez: How do you share the roadmap?\n\n"
        "Peter: We export it to CSV & it times out. Every Monday.\n\n"
        "Ana Lopez: Thanks."
    )


def test_subrip_drops_numbers_and_timestamps_and_keeps_speaker_lines():
    assert parse_transcript(SRT.encode(), "call.srt") == (
        "ANA: How do you share it?\n\n"
        "PETER: We export it, and it times out. Every single Monday.\n\n"
        "ANA: Ouch."
    )


def test_captions_without_speakers_keep_one_line_per_cue():
    srt = (
        "1\n00:00:01,000 --> 00:00:02,000\nHello there\n\n"
        "2\n00:00:02,000 --> 00:00:03,000\nGeneral Kenobi\n"
    )

    assert parse_transcript(srt.encode(), "film.srt") == "Hello there\nGeneral Kenobi"


def test_windows_line_endings_in_subtitles_are_understood():
    assert parse_transcript(SRT.replace("\n", "\r\n").encode(), "call.srt").startswith(
        "ANA: How do you share it?"
    )


@pytest.mark.parametrize(
    ("data", "filename", "message"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "call.txt", "call.txt is a binary file"),
        (b"\x01\x02\x03\x04\x05\x06 abc", "call.txt", "call.txt is a binary file"),
        ("Café".encode("latin-1"), "call.txt", "call.txt is not UTF-8 text (byte 4"),
        (b"Ana: hi", "call.docx", "call.docx is not a transcript: upload a .txt, .vtt or .srt"),
        (b"1\n00:00:01.000 --> 00:00:02.000\nHi", "call.vtt", "must start with WEBVTT"),
        (b"Just some words, no cues.", "call.srt", "call.srt has no SubRip (.srt) cues"),
        (b"WEBVTT\n\nNOTE nothing else\n", "call.vtt", "call.vtt has no WebVTT cues"),
        (b"  \n\n ", "call.txt", "call.txt holds no text."),
    ],
    ids=[
        "png_case",
        "control_bytes_case",
        "latin1_case",
        "wrong_extension_case",
        "vtt_without_header_case",
        "srt_without_cues_case",
        "vtt_without_cues_case",
        "blank_case",
    ],
)
def test_a_file_that_is_not_what_it_claims_is_refused_with_the_reason(data, filename, message):
    with pytest.raises(TranscriptFileError) as caught:
        parse_transcript(data, filename)

    assert message in caught.value.message


def test_a_file_over_the_size_limit_is_refused_before_it_is_read():
    with pytest.raises(TranscriptFileError, match=r"is 2\.0 MB; the limit is 2 MB"):
        parse_transcript(b"a" * (MAX_UPLOAD_BYTES + 1), "big.txt")


def test_a_transcript_over_the_character_limit_is_refused():
    with pytest.raises(TranscriptFileError, match="the limit is 500,000"):
        parse_transcript(b"a" * (TRANSCRIPT_MAX_CHARS + 1), "long.txt")
