"""A photo as values: read once, decoded, hashed; nothing here knows of an index or the web.

- ``photo``: :class:`~revimg.imaging.photo.Photo`, one photo read once (bytes, image).
- ``decoding``: Pillow with limits, EXIF orientation, reduced-scale JPEG decoding.
- ``hashing``: what the index stores of a photo and what a query computes (PDQ in eight
  variants, pHash, SHA-256, crop views, photos found inside screenshots); ``pdq``: PDQ.
- ``features``: ORB local features and their blob; ``appearance``: the picture signature
  that tells a copy from a second shot; ``regions``: photos and avatars in screenshots.
- ``foreign``: 64-bit hashes as imagehash makes them (for imported pHash lists).
- ``sources``: command-line arguments into photos, folders walked.
"""
