"""Make the small test photos of tests/test_provenance.py, with real metadata blocks.

Run from anywhere: ``python tests/data/provenance/make_provenance_photos.py``. It needs
only Pillow, and rewrites every photo next to this script. The blocks are written byte by
byte here (APP13 Photoshop/IPTC IIM, APP1 XMP, APP11 JUMBF, PNG iTXt/eXIf/tEXt) rather
than by a metadata library, so the tests read what other tools write, not what revimg
writes. ``c2pa-signed-ai.jpg`` is a real C2PA-signed photo (throwaway test certificate,
not on any trust list); it is remade only where ``c2pa-python`` is installed, otherwise the
committed copy is kept.
"""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

from PIL import Image, ImageDraw

HERE = Path(__file__).resolve().parent

NS = (
    'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
    'xmlns:dc="http://purl.org/dc/elements/1.1/" '
    'xmlns:photoshop="http://ns.adobe.com/photoshop/1.0/" '
    'xmlns:xmp="http://ns.adobe.com/xap/1.0/" '
    'xmlns:xmpRights="http://ns.adobe.com/xap/1.0/rights/" '
    'xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/" '
    'xmlns:plus="http://ns.useplus.org/ldf/xmp/1.0/"'
)


def base_image(size: tuple[int, int] = (48, 40)) -> Image.Image:
    """A small picture with some structure (a gradient, a face-like disc)."""
    img = Image.new("RGB", size)
    pixels = img.load()
    assert pixels is not None
    for y in range(size[1]):
        for x in range(size[0]):
            pixels[x, y] = (40 + 4 * x, 60 + 3 * y, 150)
    draw = ImageDraw.Draw(img)
    draw.ellipse((14, 8, 34, 32), fill=(225, 190, 160))
    return img


def jpeg(img: Image.Image, exif: bytes | None = None) -> bytes:
    buf = io.BytesIO()
    if exif is not None:
        img.save(buf, "JPEG", quality=70, exif=exif)
    else:
        img.save(buf, "JPEG", quality=70)
    return buf.getvalue()


def segment(marker: int, payload: bytes) -> bytes:
    """A JPEG marker segment (the length counts itself, not the marker)."""
    assert len(payload) + 2 <= 0xFFFF
    return bytes([0xFF, marker]) + struct.pack(">H", len(payload) + 2) + payload


def insert_segments(data: bytes, *segments: bytes) -> bytes:
    """Put segments after SOI and any APP0/APP1 that Pillow wrote."""
    pos = 2
    while data[pos] == 0xFF and data[pos + 1] in (0xE0, 0xE1):
        pos += 2 + struct.unpack(">H", data[pos + 2 : pos + 4])[0]
    return data[:pos] + b"".join(segments) + data[pos:]


def xmp_packet(description: str, extra: str = "") -> bytes:
    """A complete XMP packet with one rdf:Description."""
    return (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/" x:xmptk="revimg test">\n'
        f" <rdf:RDF {NS}>\n"
        f'  <rdf:Description rdf:about="" {extra}>\n{description}\n  </rdf:Description>\n'
        " </rdf:RDF>\n</x:xmpmeta>\n"
        '<?xpacket end="w"?>'
    ).encode()


def xmp_app1(packet: bytes) -> bytes:
    return segment(0xE1, b"http://ns.adobe.com/xap/1.0/\x00" + packet)


def iim(record: int, number: int, value: str | bytes) -> bytes:
    """One IPTC IIM dataset: 0x1C, record, dataset, 16-bit length, data."""
    data = value.encode("utf-8") if isinstance(value, str) else value
    return b"\x1c" + bytes([record, number]) + struct.pack(">H", len(data)) + data


def irb(resource: int, data: bytes, declared: int | None = None) -> bytes:
    """A Photoshop image resource block: 8BIM, id, empty Pascal name, size, data (even)."""
    size = len(data) if declared is None else declared
    return (
        b"8BIM"
        + struct.pack(">H", resource)
        + b"\x00\x00"
        + struct.pack(">I", size)
        + (data + b"\x00" * (len(data) & 1))
    )


def app13(*blocks: bytes) -> bytes:
    return segment(0xED, b"Photoshop 3.0\x00" + b"".join(blocks))


def exif_block(
    base: dict[int, object],
    exif_ifd: dict[int, object] | None = None,
    gps: dict[int, object] | None = None,
) -> bytes:
    """EXIF bytes ("Exif\\0\\0" + TIFF) as Pillow writes them."""
    exif = Image.Exif()
    for tag, value in base.items():
        exif[tag] = value
    if exif_ifd:
        sub = exif.get_ifd(0x8769)
        sub.update(exif_ifd)
    if gps:
        exif.get_ifd(0x8825).update(gps)
    return exif.tobytes()


def png_chunk(ctype: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + ctype + body + struct.pack(">I", zlib.crc32(ctype + body))


def png_with(img: Image.Image, *chunks: bytes) -> bytes:
    """A PNG with extra chunks placed right after IHDR."""
    buf = io.BytesIO()
    img.save(buf, "PNG")
    data = buf.getvalue()
    ihdr_end = 8 + 12 + struct.unpack(">I", data[8:12])[0]
    return data[:ihdr_end] + b"".join(chunks) + data[ihdr_end:]


def jumbf_box(tbox: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", 8 + len(payload)) + tbox + payload


def jumd(uuid4cc: bytes, label: str) -> bytes:
    """A JUMBF description box: type UUID, toggles (requestable + label), label."""
    uuid = uuid4cc + bytes.fromhex("00110010800000aa00389b71")
    return jumbf_box(b"jumd", uuid + b"\x03" + label.encode() + b"\x00")


# ---------------------------------------------------------------------------


def stock_full() -> bytes:
    """Everything a stock photo's metadata may hold, in EXIF, IPTC and XMP."""
    exif = exif_block(
        {
            0x010F: "Canon",
            0x0110: "Canon EOS 5D Mark III",
            0x0131: "Adobe Photoshop Lightroom Classic 12.0 (Windows)",
            0x0112: 1,
            0x013B: "Jane Doe",
            0x8298: "(c) 2019 Jane Doe",
        },
        {0x9003: "2019:05:04 12:34:56", 0x9011: "+01:00"},
        {1: "N", 2: (38.0, 42.0, 36.0), 3: "W", 4: (9.0, 8.0, 24.0)},
    )
    iptc = b"".join(
        [
            iim(1, 90, b"\x1b%G"),  # coded character set: UTF-8
            iim(2, 0, b"\x00\x04"),
            iim(2, 5, "Smiling man in a café"),
            iim(2, 40, "Editorial use only. Alamy Stock Photo ref. ABC123"),
            iim(2, 55, "20190504"),
            iim(2, 60, "123456+0100"),
            iim(2, 80, "Jane Doe"),
            iim(2, 80, "Wavebreak Media"),
            iim(2, 110, "Getty Images"),
            iim(2, 115, "iStockphoto"),
            iim(2, 116, "© 2019 Shutterstock, Inc."),
            iim(2, 120, "A man smiles at the camera in a café, Lisbon"),
        ]
    )
    packet = xmp_packet(
        """   <dc:creator><rdf:Seq><rdf:li>Jane Doe</rdf:li></rdf:Seq></dc:creator>
   <dc:rights><rdf:Alt>
     <rdf:li xml:lang="x-default">© 2019 Shutterstock, Inc.</rdf:li>
   </rdf:Alt></dc:rights>
   <dc:title><rdf:Alt>
     <rdf:li xml:lang="x-default">Smiling man in a café</rdf:li>
   </rdf:Alt></dc:title>
   <xmpRights:UsageTerms><rdf:Alt>
     <rdf:li xml:lang="x-default">Licensed from Dreamstime; no sensitive use</rdf:li>
   </rdf:Alt></xmpRights:UsageTerms>
   <plus:Licensor><rdf:Seq><rdf:li rdf:parseType="Resource">
     <plus:LicensorName>Adobe Stock</plus:LicensorName>
     <plus:LicensorURL>https://stock.adobe.com/images/123456</plus:LicensorURL>
   </rdf:li></rdf:Seq></plus:Licensor>""",
        'photoshop:Credit="Getty Images" photoshop:Source="iStockphoto" '
        'photoshop:DateCreated="2019-05-04T12:34:56+01:00" '
        'xmp:CreatorTool="Adobe Photoshop Lightroom Classic 12.0 (Windows)" '
        'xmpRights:WebStatement="https://www.gettyimages.co.uk/eula" '
        'Iptc4xmpExt:DigitalSourceType="http://cv.iptc.org/newscodes/digitalsourcetype/digitalCapture"',
    )
    return insert_segments(jpeg(base_image(), exif), xmp_app1(packet), app13(irb(0x0404, iptc)))


def ai_xmp() -> bytes:
    """XMP says trainedAlgorithmicMedia (as a full IPTC URI); the creator tool is Midjourney."""
    packet = xmp_packet(
        "",
        'xmp:CreatorTool="Midjourney" '
        'Iptc4xmpExt:DigitalSourceType="http://cv.iptc.org/newscodes/digitalsourcetype/'
        'trainedAlgorithmicMedia"',
    )
    return insert_segments(jpeg(base_image()), xmp_app1(packet))


def png_itxt() -> bytes:
    """PNG: compressed iTXt XMP (bare digital source type term) and an eXIf chunk."""
    packet = xmp_packet(
        """   <dc:creator><rdf:Seq><rdf:li>John Pexelson</rdf:li></rdf:Seq></dc:creator>
   <dc:rights><rdf:Alt>
     <rdf:li xml:lang="x-default">Photo by Anna on Unsplash</rdf:li>
   </rdf:Alt></dc:rights>
   <Iptc4xmpExt:DigitalSourceType>compositeWithTrainedAlgorithmicMedia
   </Iptc4xmpExt:DigitalSourceType>""",
        'photoshop:Credit="Kalamy Studio"',
    )
    itxt = b"XML:com.adobe.xmp\x00" + b"\x01\x00" + b"\x00" + b"\x00" + zlib.compress(packet)
    exif = exif_block({0x010F: "Google", 0x0110: "Pixel 8 Pro", 0x0112: 1})
    return png_with(base_image(), png_chunk(b"iTXt", itxt), png_chunk(b"eXIf", exif[6:]))


def webp_exif_xmp() -> bytes:
    """WebP: EXIF (software Adobe Firefly, copyright Pixabay) and XMP chunks."""
    exif = exif_block(
        {
            0x010F: "Apple",
            0x0110: "iPhone 12",
            0x0131: "Adobe Firefly",
            0x0112: 6,
            0x8298: "Pixabay",
        },
        {0x9003: "2021:07:01 09:15:00"},
    )
    packet = xmp_packet(
        "",
        'photoshop:Credit="Pexels" xmpRights:WebStatement="https://unsplash.com/license"',
    )
    buf = io.BytesIO()
    base_image().save(buf, "WEBP", quality=70, exif=exif, xmp=packet)
    return buf.getvalue()


def c2pa_fake_store() -> bytes:
    """A MINIMAL FAKE C2PA manifest store (no claim, no signature): for the presence test."""
    manifest = jumbf_box(b"jumb", jumd(b"c2ma", "urn:uuid:revimg-fake-manifest-not-signed"))
    store = jumbf_box(b"jumb", jumd(b"c2pa", "c2pa") + manifest)
    app11 = segment(0xEB, b"JP" + struct.pack(">HI", 1, 1) + store)
    return insert_segments(jpeg(base_image()), app11)


def billion_laughs() -> bytes:
    """An XMP packet with the classic entity-expansion bomb (1e9 "lol"s if expanded)."""
    entities = ['<!ENTITY lol "lol">'] + [
        f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">'
        for i in range(1, 10)
    ]
    packet = (
        '<?xml version="1.0"?>\n<!DOCTYPE lolz [\n' + "\n".join(entities) + "\n]>\n"
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
        'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
        'xmlns:photoshop="http://ns.adobe.com/photoshop/1.0/">'
        '<rdf:Description rdf:about="" photoshop:Credit="&lol9;"/>'
        "</rdf:RDF></x:xmpmeta>"
    ).encode()
    return insert_segments(jpeg(base_image()), xmp_app1(packet))


def exif_truncated() -> bytes:
    """An APP1 Exif block cut in the middle of IFD0 (the segment length is right)."""
    full = exif_block(
        {0x010F: "Canon", 0x0110: "Canon EOS 5D Mark III", 0x0131: "Bibble 4.4b"},
        {0x9003: "2019:05:04 12:34:56"},
    )
    cut = full[:40]
    data = jpeg(base_image())
    return insert_segments(data, segment(0xE1, cut))


def iptc_truncated() -> bytes:
    """An IIM dataset (2:116) that declares 200 bytes where only 9 follow."""
    good = iim(2, 110, "Getty Images")
    bad = b"\x1c\x02\x74" + struct.pack(">H", 200) + b"(c) Getty"
    return insert_segments(jpeg(base_image()), app13(irb(0x0404, good + bad)))


def xmp_malformed() -> bytes:
    """XMP that is not well-formed XML (an element is never closed)."""
    packet = xmp_packet("<photoshop:Credit>Getty Images</photoshop:Credit>")
    packet = packet.replace(b"</rdf:Description>", b"")
    return insert_segments(jpeg(base_image()), xmp_app1(packet))


def sd_parameters() -> bytes:
    """PNG text as AUTOMATIC1111's Stable Diffusion web UI writes it."""
    text = (
        b"parameters\x00portrait photo of a smiling woman, 35mm\n"
        b"Negative prompt: blurry\nSteps: 30, Sampler: DPM++ 2M Karras, CFG scale: 7, "
        b"Seed: 12345, Size: 512x512, Model: realisticVision"
    )
    return png_with(base_image(), png_chunk(b"tEXt", text))


def no_metadata() -> bytes:
    return jpeg(base_image())


def tiff_tags() -> bytes:
    """TIFF with camera tags in IFD0, XMP (tag 700) and IPTC (tag 33723)."""
    from PIL import TiffImagePlugin

    info = TiffImagePlugin.ImageFileDirectory_v2()
    info[271] = "NIKON CORPORATION"
    info[272] = "NIKON D3"
    info[305] = "Capture NX 1.3.0 W"
    info[700] = xmp_packet("", 'photoshop:Credit="Westend61"')
    info[33723] = iim(2, 110, "Masterfile") + iim(2, 80, "Ann Example")
    info.tagtype[33723] = 7  # UNDEFINED: raw bytes
    buf = io.BytesIO()
    base_image((24, 20)).save(buf, "TIFF", tiffinfo=info)
    return buf.getvalue()


def c2pa_signed() -> bytes | None:
    """A real C2PA-signed JPEG (needs c2pa-python and its cryptography dependency)."""
    try:
        import datetime

        import c2pa
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
    except ImportError:
        return None

    def name(cn: str) -> x509.Name:
        return x509.Name(
            [
                x509.NameAttribute(NameOID.COMMON_NAME, cn),
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, "revimg test"),
            ]
        )

    start = datetime.datetime(2025, 1, 1, tzinfo=datetime.UTC)
    end = start + datetime.timedelta(days=365 * 30)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(name("revimg test CA"))
        .issuer_name(name("revimg test CA"))
        .public_key(ca_key.public_key())
        .serial_number(1)
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(name("revimg test signer"))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(2)
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(True, False, False, False, False, False, False, False, False),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )
    chain = cert.public_bytes(serialization.Encoding.PEM) + ca.public_bytes(
        serialization.Encoding.PEM
    )
    pem_key = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    manifest = {
        "claim_generator_info": [{"name": "revimg test generator", "version": "1.0"}],
        "title": "c2pa-signed-ai.jpg",
        "assertions": [
            {
                "label": "c2pa.actions",
                "data": {
                    "actions": [
                        {
                            "action": "c2pa.created",
                            "digitalSourceType": "http://cv.iptc.org/newscodes/"
                            "digitalsourcetype/trainedAlgorithmicMedia",
                        }
                    ]
                },
            }
        ],
    }
    signer = c2pa.Signer.from_info(
        c2pa.C2paSignerInfo(c2pa.C2paSigningAlg.ES256, chain, pem_key, None)
    )
    context = c2pa.Context.from_dict({"builder": {"thumbnail": {"enabled": False}}})
    out = io.BytesIO()
    with c2pa.Builder(manifest, context=context) as builder:
        builder.sign(signer, "image/jpeg", io.BytesIO(jpeg(base_image())), out)
    return out.getvalue()


PHOTOS = {
    "stock-full.jpg": stock_full,
    "ai-xmp-trained.jpg": ai_xmp,
    "png-itxt-xmp.png": png_itxt,
    "webp-exif-xmp.webp": webp_exif_xmp,
    "c2pa-fake-manifest-store.jpg": c2pa_fake_store,
    "xmp-billion-laughs.jpg": billion_laughs,
    "exif-truncated.jpg": exif_truncated,
    "iptc-truncated.jpg": iptc_truncated,
    "xmp-malformed.jpg": xmp_malformed,
    "sd-parameters.png": sd_parameters,
    "no-metadata.jpg": no_metadata,
    "tiff-tags.tif": tiff_tags,
}


def main() -> None:
    for name, make in PHOTOS.items():
        data = make()
        (HERE / name).write_bytes(data)
        print(f"{name}: {len(data)} bytes")
    signed = c2pa_signed()
    if signed is None:
        print("c2pa-signed-ai.jpg: kept (install c2pa-python to remake it)")
    else:
        (HERE / "c2pa-signed-ai.jpg").write_bytes(signed)
        print(f"c2pa-signed-ai.jpg: {len(signed)} bytes")


if __name__ == "__main__":
    main()
