"""Everyday action labels, the default label set for describing a motion in words (zero-shot
recognition ranks them by cosine with the motion's latent; users can give their own).

Each is one of the bundled model's training labels (MODEL_CARD.md, "Labels it knows"): a label
it never saw may still rank first by its wording alone ("turn around" topped generated spins and
cartwheels), which says nothing of the motion.
"""

DEFAULT_LABELS: tuple[str, ...] = (
    "walk",
    "run",
    "jump",
    "walk backwards",
    "sneak",
    "crawl",
    "raise both hands",
    "wave the right hand",
    "wave both hands",
    "bow",
    "kick",
    "punch",
    "slash with a sword",
    "dance",
    "do a cartwheel",
    "get up from lying on the back",
    "play soccer",
    "play basketball",
)
