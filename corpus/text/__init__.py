"""Pure text functions (``str`` in, data out): normalisation, sentence segmentation, tokens."""
