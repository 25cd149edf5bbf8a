"""Reason codes: the closed set of `<step>.<cause>` codes for `removed` and `rejects`.

Every dropped line and every rejected file carries exactly one of these codes, so the
gates can check `reason` with `expect_column_values_to_be_in_set`. Add a code here (with
its one-line meaning) before a step may use it.
"""
from __future__ import annotations

# -- rejects: a whole input file that did not become an article --------------------------
REJECT_REASONS: dict[str, str] = {
    "extract.empty": "the file has zero bytes",
    "extract.whitespace_only": "the file holds only whitespace",
    "extract.binary": "the bytes are not text (NUL-heavy or control-heavy)",
    "extract.too_large": "the file is larger than the configured maximum document size",
    "extract.not_regular_file": "a FIFO, socket or device file; never opened",
    "extract.symlink_outside": "a symbolic link that points outside --source; not followed",
    "extract.symlink_broken": "a symbolic link whose target does not exist",
    "extract.unreadable": "the file could not be opened or read (permissions, I/O error)",
    "extract.vanished": "the file was listed but deleted before it could be read",
    "extract.changed_during_read": "the file changed while it was being read",
    "extract.duplicate_link": "a symbolic link (or bind mount) to a file or directory already read under another path",
    "decode.undecodable": "no candidate encoding gives plausible text",
    "language.not_vietnamese": "the article text is not Vietnamese",
    "clean.no_article": "nothing but site chrome: no title, lede or body survives cleaning",
    "clean.no_text": "no letters at all: only digits, punctuation, symbols or emoji",
    "gate.quarantined": "a row-level expectation of a quality gate failed for this document",
    "gate.too_short": "quality gate: less than 80 characters of lede and body survive cleaning",
    "gate.not_nfc": "quality gate: stored text is not Unicode NFC",
    "gate.bad_characters": "quality gate: a control, zero-width or non-breaking space character survived",
    "gate.boilerplate_left": "quality gate: a kept line is only a boilerplate cue of the cleaning lexicon",
    "gate.date_out_of_range": "quality gate: published_at is before 1990 or more than a day in the future",
    "gate.not_vietnamese": "quality gate: the article's language is not 'vi'",
    "extract.changed_during_run": "the file changed between the listing and its read (size, time or inode); the next run reads it",
}

# -- removed: one raw line that did not end up in title, lede, body or captions ----------
REMOVED_REASONS: dict[str, str] = {
    # site chrome recognised from the cue lexicon (transforms/lexicon/)
    "boilerplate.related_list": "a related-articles list: its cue line and everything in the tail after it",
    "boilerplate.follow_prompt": "a 'follow us' / subscribe prompt",
    "boilerplate.share_prompt": "share / print / font-size widgets",
    "boilerplate.comment_form": "comment form labels",
    "boilerplate.tag_line": "a tag/keyword line",
    "boilerplate.advertisement": "an advertisement",
    "boilerplate.navigation": "site navigation or a breadcrumb",
    "boilerplate.header_date": "the site header's current date, not the article's",
    "boilerplate.error_message": "an error string of the site",
    "boilerplate.recurring_line": "a short line that recurs across many documents of the batch",
    "boilerplate.tail": "a line in the page tail, after the article ended",
    "boilerplate.photo_credit": "a photo credit line (Ảnh: ..., Nguồn ảnh ...)",
    "boilerplate.short_fragment": "a short fragment that is not prose and not a caption",
    "boilerplate.video_label": "a video or clip player label with its title or source, cut out of a line (Video: ..., Clip: ...)",
    "language.no_diacritics": "a Vietnamese line written without diacritics (site chrome)",
    "language.not_vietnamese": "a line in another language inside a Vietnamese article",
    # metadata consumed into columns
    "metadata.date_line": "the publication date line, parsed into published_at",
    "metadata.byline": "the author line, parsed into author",
    "metadata.source_credit": "a source credit line (Theo ..., Nguồn: ...), parsed into credit",
    # repeats inside one article
    "dedup.repeated_title": "the title repeated as a line",
    "dedup.repeated_lede": "the lede repeated (near-)verbatim in the body",
    "dedup.repeated_caption": "a caption repeated",
    "dedup.repeated_paragraph": "a paragraph repeated",
    # site chrome inside a line or at the head of a page (transforms/chrome.py, transforms/headline.py)
    "boilerplate.media_player": "a video/audio player's time code or controls ('00:00 / 02:35')",
    "boilerplate.view_counter": "a view, like, share or comment counter ('1.234 lượt xem')",
    "boilerplate.url": "a URL or a URL slug left in the text",
    "boilerplate.outlet_credit": "the outlet's own credit glued to the start of the lede ('(Dân trí) -', 'TTO -')",
    "boilerplate.site_name": "the site's own name or domain as a line",
    "boilerplate.contact_line": "a hotline, phone, e-mail or newsroom address line of the site",
}

ALL_REASONS = {**REJECT_REASONS, **REMOVED_REASONS}


def reject_reason_is_known(code: str) -> bool:
    return code in REJECT_REASONS or code.startswith("gate.")
