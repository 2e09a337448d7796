"""Size limits that keep reading hostile metadata cheap and bounded.

Every block, text value and XMP packet is capped before it is parsed or kept, so a crafted
file cannot make :func:`revimg.provenance.inspect` slow or memory-hungry. The public limits
are re-exported by ``revimg.provenance``; tests build their oversized blocks from them.
"""

from __future__ import annotations

#: Largest EXIF, IPTC or XMP block that is parsed; larger ones are reported and skipped.
MAX_BLOCK_BYTES = 1024 * 1024
#: Largest amount of C2PA (JUMBF) data that is collected for the presence check.
MAX_JUMBF_BYTES = 16 * 1024 * 1024
#: Longest text value kept from any field (longer values are cut).
MAX_TEXT = 2000
#: Most property values taken from one XMP packet.
MAX_XMP_VALUES = 5000
#: Longest value quoted in a finding.
SHORT_TEXT = 120
