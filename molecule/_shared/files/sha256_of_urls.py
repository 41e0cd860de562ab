"""Download each URL given on the command line with the token in $X_AUTH_TOKEN and print one
JSON object: URL -> sha256 of the body (or "HTTP <status>" / the error). $CA_FILE, when set,
is the CA to trust for https URLs.

One process for all the downloads of verify-stores.yml: a loop of Ansible tasks costs
seconds per item, which nine downloads and their checksums made the slowest part of verify.
The standard library only (any host's python3).
"""

import hashlib
import json
import os
import ssl
import sys
import urllib.error
import urllib.request


def sha256_of(url: str, token: str, context: ssl.SSLContext | None) -> str:
    request = urllib.request.Request(url, headers={"X-Auth-Token": token})
    digest = hashlib.sha256()
    try:
        with urllib.request.urlopen(request, timeout=120, context=context) as answer:
            while chunk := answer.read(1 << 20):
                digest.update(chunk)
    except urllib.error.HTTPError as error:
        return f"HTTP {error.code}"
    except OSError as error:
        return f"error: {error}"
    return digest.hexdigest()


def main(urls: list[str]) -> int:
    cafile = os.environ.get("CA_FILE") or None
    context = ssl.create_default_context(cafile=cafile) if cafile else None
    token = os.environ["X_AUTH_TOKEN"]
    print(json.dumps({url: sha256_of(url, token, context) for url in urls}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
