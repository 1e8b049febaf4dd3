"""Everyday action labels, the default label set for describing a motion in words (zero-shot
recognition ranks them by cosine with the motion's latent; users can give their own)."""

DEFAULT_LABELS: tuple[str, ...] = (
    "walk",
    "run",
    "jog",
    "jump",
    "wave",
    "wave with both hands",
    "raise both hands",
    "bow",
    "kick",
    "punch",
    "dance",
    "turn around",
    "walk backwards",
    "crawl",
    "cartwheel",
    "throw",
    "sit down",
    "stand still",
)
