"""Stock agencies and AI image generators: their names, and finding them in text.

A credit line such as "Getty Images/iStockphoto" names the agency a photo was licensed
from; a software field such as "Midjourney" names the generator that made it. Matching is
case-insensitive and whole-word, and the ambiguous names ("Getty", "Cultura", "Firefly")
need a field to themselves or more context.

Compiling all the patterns costs tens of milliseconds, too much for every start. So each
pattern comes with keywords, lower-case words that every text it matches contains, and it
is compiled only when a text holds one of them: a credit line of "Jane Doe" compiles none.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Iterator

from revimg.provenance.model import AgencyHit


def _words(*names: str) -> str:
    """Alternatives matched as whole words (not inside another word)."""
    return r"(?<![a-z0-9])(?:" + "|".join(names) + r")(?![a-z0-9])"


def _alone(*names: str) -> str:
    """Ambiguous names: only a whole field, or one part of a "A/B" or "A, B" credit line."""
    return r"(?:^|[/|;,(]\s*)(?:" + "|".join(names) + r")\s*(?=$|[/|;,)])"


#: Stock agencies and big stock producers: canonical name -> (keywords, pattern). The pattern
#: is case-insensitive; every text it matches contains one of the keywords (see _fold).
_AGENCIES: dict[str, tuple[tuple[str, ...], str]] = {
    "Getty Images": (("getty",), _words(r"getty[\s\-]*images") + "|" + _alone("getty")),
    "iStock": (("istock",), _words(r"istock(?:photo)?(?:\.com)?")),
    "Shutterstock": (
        ("shutterstock", "offset.com"),
        _words("shutterstock") + "|" + _words(r"offset\.com"),
    ),
    "Adobe Stock": (("adobe",), _words(r"adobe[\s\-]*stock", r"stock\.adobe\.com")),
    "Alamy": (("alamy",), _words("alamy")),
    "Dreamstime": (("dreamstime",), _words("dreamstime")),
    "Depositphotos": (("deposit",), _words(r"deposit[\s\-]*photos")),
    "123RF": (("123rf",), _words("123rf")),
    "Unsplash": (("unsplash",), _words("unsplash")),
    "Pexels": (("pexels",), _words("pexels")),
    "Pixabay": (("pixabay",), _words("pixabay")),
    "Stocksy": (("stocksy",), _words("stocksy")),
    "EyeEm": (("eyeem",), _words("eyeem")),
    "Pond5": (("pond5",), _words("pond5")),
    "Bigstock": (("bigstock",), _words(r"bigstock(?:photo)?")),
    "Fotolia": (("fotolia",), _words("fotolia")),
    "Westend61": (("westend61",), _words("westend61")),
    "Masterfile": (("masterfile",), _words("masterfile")),
    "Corbis": (("corbis",), _words(r"corbis(?:images)?")),
    "agefotostock": (("foto",), _words(r"age[\s\-]*foto[\s\-]*stock")),
    "Science Photo Library": (
        ("science",),
        _words(r"science\s+photo\s+library", r"sciencephoto\.com"),
    ),
    "Twenty20": (("twenty20",), _words("twenty20")),
    "Canva": (("canva",), _words("canva")),
    "Freepik": (("freepik",), _words("freepik")),
    "Envato": (("envato",), _words("envato")),
    "Storyblocks": (("storyblocks",), _words("storyblocks")),
    "Jupiterimages": (("jupiter",), _words(r"jupiter\s*images")),
    "Thinkstock": (("thinkstock",), _words(r"thinkstock(?:photos)?")),
    "Wavebreak Media": (("wavebreak",), _words(r"wavebreak(?:\s*media)?(?:\s*micro)?")),
    "Photodisc": (("photodisc",), _words("photodisc")),
    "DigitalVision": (
        ("digital",),
        _words("digitalvision") + "|" + _alone(r"digital\s+vision"),
    ),
    "Image Source": (("image",), _words("imagesource") + "|" + _alone(r"image\s+source")),
    "Cultura": (
        ("cultura",),
        _words(r"cultura\s+(?:rf|creative|exclusive)") + "|" + _alone("cultura"),
    ),
    "Tetra Images": (("tetra",), _words(r"tetra\s*images")),
    "Blend Images": (("blend",), _words(r"blend\s*images")),
    "Hero Images": (("hero",), _words(r"hero\s*images")),
    "Stockbyte": (("stockbyte",), _words("stockbyte")),
    "Comstock": (("comstock",), _words(r"comstock\s+images") + "|" + _alone("comstock")),
    "Brand X Pictures": (("brand",), _words(r"brand\s*x\s*pictures")),
    "Caiaimage": (("caiaimage",), _words("caiaimage")),
    "Maskot": (("maskot",), _alone("maskot")),
    "Monkey Business Images": (
        ("monkey",),
        _words(r"monkey\s*business\s*images") + "|" + _alone(r"monkey\s*business"),
    ),
    "PeopleImages": (("people",), _words(r"people\s*images(?:\.com)?")),
    "Rawpixel": (("rawpixel",), _words("rawpixel")),
    "SuperStock": (("superstock",), _words("superstock")),
    "Design Pics": (("design",), _words(r"design\s*pics")),
    "Panther Media": (("panther",), _words(r"panther\s*media")),
    "Colourbox": (("colourbox",), _words("colourbox")),
    "Zoonar": (("zoonar",), _words("zoonar")),
    "imageBROKER": (("imagebroker",), _words("imagebroker")),
    "Vecteezy": (("vecteezy",), _words("vecteezy")),
    "StockSnap": (("stocksnap",), _words("stocksnap")),
    "Can Stock Photo": (("stock",), _words(r"can\s*stock\s*photo")),
    "Fotosearch": (("fotosearch",), _words("fotosearch")),
    "Photos.com": (("photos.com",), _words(r"photos\.com")),
    "Crestock": (("crestock",), _words("crestock")),
    "Mostphotos": (("mostphotos",), _words("mostphotos")),
    "Picfair": (("picfair",), _words("picfair")),
    "Kaboompics": (("kaboompics",), _words("kaboompics")),
    "Burst (Shopify)": (("shopify",), _words(r"burst\.shopify\.com", r"shopify\s+burst")),
    "Generated Photos": (("generated",), _words(r"generated\s*\.?\s*photos")),
}

#: AI image generators, as they appear in software, creator tool or credit fields:
#: name -> (keywords, pattern), as for _AGENCIES; the pattern is matched as whole words.
_GENERATORS: dict[str, tuple[tuple[str, ...], str]] = {
    "Midjourney": (("journey",), r"mid[\s\-]?journey"),
    "DALL-E": (("dall",), r"dall[\s\-·.]e(?:[\s\-]?[0-9])?|dalle[\s\-]?[0-9]"),
    "Stable Diffusion": (
        ("diffusion", "sdxl", "automatic1111"),
        r"stable[\s\-_]?diffusion|sdxl|automatic1111|stable-diffusion-webui",
    ),
    "Adobe Firefly": (("firefly",), r"(?:adobe\s+)?firefly"),
    "Imagen": (("imagen",), r"(?:google\s+)?imagen(?:\s*[0-9])?"),
    "Google AI": (
        ("google", "gemini"),
        r"made\s+with\s+google\s+ai|google\s+gemini|gemini\s+image",
    ),
    "Bing Image Creator": (("bing",), r"bing\s+image\s+creator"),
    "Microsoft Designer": (("microsoft",), r"microsoft\s+designer"),
    "ChatGPT / OpenAI": (("gpt", "openai"), r"chatgpt|openai(?:[\s\-]api)?|gpt-?4o"),
    "Leonardo.Ai": (("leonardo",), r"leonardo\.?\s?ai"),
    "NovelAI": (("novel",), r"novel\s?ai"),
    "ComfyUI": (("comfyui",), r"comfyui"),
    "InvokeAI": (("invoke",), r"invoke\s?ai"),
    "Fooocus": (("fooocus",), r"fooocus"),
    "DreamStudio": (("dreamstudio",), r"dreamstudio"),
    "Ideogram": (("ideogram",), r"ideogram"),
    "Craiyon": (("craiyon",), r"craiyon"),
    "NightCafe": (("nightcafe",), r"nightcafe"),
    "Playground AI": (("playground",), r"playground\s*(?:ai|v[0-9])"),
    "Runway": (("runway",), r"runway\s*(?:ml|gen-?[0-9])"),
    "FLUX": (("flux",), r"flux\.1|flux\s+(?:pro|dev|schnell)"),
    "Artbreeder": (("artbreeder",), r"artbreeder"),
    "StyleGAN": (("stylegan",), r"stylegan[0-9]?"),
    "This Person Does Not Exist": (("person",), r"this\s*person\s*does\s*not\s*exist"),
    "Generated Photos": (("generated",), r"generated\s*\.?\s*photos"),
    "Kandinsky": (("kandinsky",), r"kandinsky\s*[0-9]"),
    "Meta AI": (("meta",), r"meta\s+ai|imagine\s+with\s+meta"),
}

#: In credit and byline fields, words that are also names or common words need context.
_AMBIGUOUS_GENERATORS = {"Adobe Firefly", "Imagen", "Runway", "Kandinsky"}

#: With re.IGNORECASE, "i" also matches "İ" and "ı", and "s" matches "ſ", which lower()
#: does not map to them; every other character that matches an ASCII letter lowers to it.
_FOLD = str.maketrans({"\u0130": "i", "\u0131": "i", "\u017f": "s"})


def _fold(text: str) -> str:
    """The text as the keywords are written: a pattern can match only if a keyword is in it."""
    return text.translate(_FOLD).lower()


@functools.cache
def _agency_pattern(name: str) -> re.Pattern[str]:
    return re.compile(_AGENCIES[name][1], re.I)


@functools.cache
def _generator_pattern(name: str) -> re.Pattern[str]:
    return re.compile(_words(_GENERATORS[name][1]), re.I)


@functools.cache
def _a1111() -> re.Pattern[str]:
    """The settings line AUTOMATIC1111's Stable Diffusion web UI writes."""
    return re.compile(r"Steps:\s*\d+.*Sampler:", re.S)


def _named(folded: str, keywords: tuple[str, ...]) -> bool:
    for word in keywords:  # a plain loop: any() with a generator is slower here
        if word in folded:
            return True
    return False


def stock_agencies_in(text: str) -> tuple[str, ...]:
    """Stock agencies named in a piece of text (whole-word, case-insensitive)."""
    folded = _fold(text)
    found = []
    for name, (keywords, _) in _AGENCIES.items():
        if _named(folded, keywords) and _agency_pattern(name).search(text):
            found.append(name)
    return tuple(found)


def agency_hits(entries: Iterable[tuple[str, str, str]]) -> Iterator[AgencyHit]:
    """One hit per (agency, field) named by the (field, value, block) entries."""
    seen: set[tuple[str, str]] = set()
    for name, value, block in entries:
        for agency in stock_agencies_in(value):
            if (agency, name) not in seen:
                seen.add((agency, name))
                yield AgencyHit(agency, name, value, block)


def generator(text: str, *, strict: bool) -> str | None:
    """The AI image generator named in a software-like field, if any.

    ``strict`` (for credit and byline fields) skips the names that are also ordinary words.
    """
    folded = _fold(text)
    for name, (keywords, _) in _GENERATORS.items():
        if strict and name in _AMBIGUOUS_GENERATORS:
            continue
        if _named(folded, keywords) and _generator_pattern(name).search(text):
            return name
    return None


def has_a1111_settings(text: str) -> bool:
    """The text holds Stable Diffusion (AUTOMATIC1111) generation settings."""
    return bool(_a1111().search(text))


def looks_like_generator_settings(key: str, value: str) -> bool:
    """A PNG text chunk (``parameters``, ``prompt``, ...) holds AI generator settings."""
    if key == "parameters":
        return has_a1111_settings(value)
    if key in ("prompt", "workflow"):
        return value.lstrip().startswith("{") and ("class_type" in value or '"nodes"' in value)
    return True  # invokeai_metadata, sd-metadata, dream are only written by generators
