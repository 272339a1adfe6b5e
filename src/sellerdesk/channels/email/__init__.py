"""The email channel: MIME parsing (mime.py) and the charsets mail really arrives in."""
