"""Models that pre-fill the annotator's screen (Label Studio predictions).

``suggestions`` holds what every model returns; ``heuristic`` (transparent claim cues,
no training) and ``baseline`` (character n-grams and a linear classifier trained on the
project's pulled labels) are the two models ``corpus predict`` offers.
"""
