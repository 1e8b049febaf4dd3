"""Captions: labels turned into several natural sentences, so the text space sees varied language.

A content label is a verb phrase in the base form ("walk backwards"); a style, when there is one,
becomes an adjective for the person ("an elderly person walking") or a manner ("walks in an
elderly way"). A label or caption that does not start with a verb this module knows (a sentence,
a noun or gerund phrase, another language) is used as written, never inflected. Training
captions windows with these phrasings; zero-shot recognition scores a label by the mean text
latent of the same phrasings (`label_phrasings`, CLIP's prompt ensembling), which ranks labels
better than any one of them. `content_prompt` and `style_prompt` are the single prompts of
generation and of the paper's one-prompt protocol.
"""

from __future__ import annotations

# style -> (adjective for the person, manner after the verb)
STYLES = {
    "active": ("energetic", "energetically"),
    "angry": ("angry", "angrily"),
    "childish": ("childish", "like a child"),
    "chimpira": ("thuggish", "like a street thug"),
    "elderly": ("elderly", "in an elderly way"),
    "exhausted": ("exhausted", "in an exhausted way"),
    "feminine": ("feminine", "in a feminine way"),
    "giant": ("giant", "like a giant"),
    "happy": ("happy", "happily"),
    "masculine": ("masculine", "in a masculine way"),
    "musical": ("theatrical", "like in a musical"),
    "normal": ("", "normally"),
    "not-confident": ("unconfident", "without confidence"),
    "old": ("old", "like an old person"),
    "proud": ("proud", "proudly"),
    "sad": ("sad", "sadly"),
    "tired": ("tired", "wearily"),
    "youthful": ("youthful", "in a youthful way"),
}
GERUND = {"squat": "squatting"}  # the one verb of VERBS whose gerund the rules below miss
# Base-form verbs a label may start with to be inflected: those of motion-capture labels, leaving
# out words that as often start a noun phrase ("slow walk", "side step", "lower body stretch").
VERBS = frozenset(
    """
    aim applaud ascend balance beckon bend block bounce bow call carry catch celebrate cheer
    clap clean climb crawl creep cross crouch cry dance dash descend direct dive do dodge drag
    dribble drink drop duck eat fall fight flap flip fly get glide go grab greet guide hang hike
    hit hold hop hug jog juggle jump kick kneel knock laugh lean leap lie lift limp look make
    march mime mop nod open pass pick pivot play point pray pull punch push put raise reach
    respond rise roll rotate rub run salute scratch search serve shake shoot shrug shuffle sing
    sit skate skip slash slide sneak spin sprint squat stab stagger stalk stand start step stir
    stomp stop strafe stretch stride strike stroll strut stumble sway sweep swim swing talk tap
    throw tiptoe touch trip turn twirl twist walk wander wash wave wiggle wipe wobble write
    """.split()  # noqa: SIM905 (a list literal would take a line a verb)
)
VOWELS = set("aeiou")


def third_person(phrase: str) -> str:
    """'walk backwards' -> 'walks backwards'."""
    verb, _, rest = phrase.partition(" ")
    if verb.endswith(("s", "sh", "ch", "x", "z", "o")):
        inflected = verb + "es"
    elif len(verb) > 1 and verb.endswith("y") and verb[-2] not in VOWELS:
        inflected = verb[:-1] + "ies"
    else:
        inflected = verb + "s"
    return f"{inflected} {rest}".strip()


def gerund(phrase: str) -> str:
    """'run in circles' -> 'running in circles'."""
    verb, _, rest = phrase.partition(" ")
    if verb in GERUND:
        inflected = GERUND[verb]
    elif verb.endswith("ie"):
        inflected = verb[:-2] + "ying"
    elif verb.endswith("e") and not verb.endswith(("ee", "ye", "oe")) and len(verb) > 2:
        inflected = verb[:-1] + "ing"
    elif _doubles_final_consonant(verb):
        inflected = verb + verb[-1] + "ing"
    else:
        inflected = verb + "ing"
    return f"{inflected} {rest}".strip()


def _doubles_final_consonant(verb: str) -> bool:
    """Short one-vowel verbs ending consonant-vowel-consonant: run, jog, spin, stop, shrug."""
    vowels = sum(letter in VOWELS for letter in verb)
    return (
        len(verb) <= 5
        and vowels == 1
        and len(verb) >= 3
        and verb[-1] not in VOWELS | set("wxy")
        and verb[-2] in VOWELS
        and verb[-3] not in VOWELS
    )


def style_words(style: str) -> tuple[str, str]:
    """(adjective, manner) of a style; unknown ones: "a {style} person", "in a {style} way"."""
    if style in STYLES:
        return STYLES[style]
    words = style.replace("-", " ")
    return words, f"in a {words} way"


def article(word: str) -> str:
    return "an" if word[:1] in VOWELS else "a"


def has_subject(text: str) -> bool:
    """Whether a text starts with who moves ("a man waves", "someone jumps")."""
    return text.lower().split()[:1] in (["a"], ["an"], ["the"], ["someone"], ["somebody"])


def is_sentence(text: str) -> bool:
    """A user's caption that is already a sentence ("a man waves"), not a bare label ("wave")."""
    return len(text.split()) >= 4 or has_subject(text)


def is_verb_phrase(text: str) -> bool:
    """Whether a text starts with a base-form verb this module knows ("walk forward"), so that
    inflecting it is safe: not "walking forward", "slow walk", "walk, slowly" or "a man walks"."""
    words = text.split()
    return bool(words) and words[0].lower() in VERBS  # "Walk" as "walk": the encoders ignore case


def captions(content: str, style: str = "", text: str = "") -> list[str]:
    """Several phrasings of a label (distinct, in a fixed order); a user's sentence comes first.

    A user's sentence, or a label that is not a verb phrase ("jumping jacks", "T-pose"), is the
    one caption, as written: a template such as "a person doing X" would be ungrammatical for
    some of them ("a person doing walking forward"), and the words as written are what a user
    will type as a prompt or recognition label."""
    if (text and is_sentence(text)) or not is_verb_phrase(content):
        return [text or content]
    does, doing = third_person(content), gerund(content)
    sentences = [f"a person {does}", f"someone is {doing}", f"a human {does}", doing]
    if style:
        adjective, manner = style_words(style)
        sentences = [f"a person {does} {manner}", f"someone {doing} {manner}", f"{doing} {manner}"]
        if adjective:
            sentences += [
                f"{article(adjective)} {adjective} person {doing}",
                f"{article(adjective)} {adjective} person {does}",
            ]
    return list(dict.fromkeys(sentences))


def content_prompt(content: str) -> str:
    """The prompt of a content label for generation and one-prompt zero-shot recognition; a
    label that is not a verb phrase is its own prompt, as it was its own caption (`captions`)."""
    return f"a person {third_person(content)}" if is_verb_phrase(content) else content


def style_prompt(style: str) -> str:
    """The prompt of a style label for zero-shot recognition."""
    return f"a person moving {style_words(style)[1]}"


def label_phrasings(label: str) -> list[str]:
    """The sentences a recognition label is scored with: a verb phrase ("wave goodbye with one
    hand") in every content phrasing, any other label ("a man waves") as it is (see `captions`)."""
    return captions(label)
