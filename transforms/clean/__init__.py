"""transforms.clean: the cleaning step, a package of small named steps (see article.py).

The names other code imports from `transforms.clean` are re-exported here.
"""
from transforms.clean.article import RECURRING_MIN_SHARE, recurring_keys, structure_article, structure_batch
from transforms.clean.cues import CUE_LINE_MAX_CHARS, SHORT_LINE_WORDS, line_key
from transforms.clean.lineage import uncovered, spans_cover
from transforms.clean.repeats import is_near_repeat, word_set
from transforms.clean.rows import Paragraph, Removed, Span, Structured

_word_set = word_set          # older name, used by tests

__all__ = ["CUE_LINE_MAX_CHARS", "Paragraph", "RECURRING_MIN_SHARE", "Removed", "SHORT_LINE_WORDS", "Span",
           "Structured", "is_near_repeat", "line_key", "recurring_keys", "spans_cover", "structure_article",
           "structure_batch", "uncovered", "word_set"]
