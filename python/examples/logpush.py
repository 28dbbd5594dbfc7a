"""A small Logpush-shaped `http_requests` log (NDJSON with `ClientIP` and a
lower-case `ClientCountry`), written deterministically for the examples."""

from __future__ import annotations

import json
import random
from pathlib import Path

COUNTRIES = ["us", "mx", "gb", "de", "fr", "br", "jp", "xx"]


def write_logpush(path: Path, rows: int, seed: int = 7) -> Path:
    rng = random.Random(seed)
    with open(path, "w") as f:
        for i in range(rows):
            if rng.random() < 0.5:
                ip = ".".join(str(rng.randrange(1, 224)) for _ in range(4))
            else:
                ip = "2%03x:%x::%x" % (rng.randrange(0x400, 0x600), rng.randrange(0x10000), i)
            f.write(
                json.dumps(
                    {
                        "ClientIP": ip,
                        "ClientCountry": rng.choice(COUNTRIES),
                        "ClientRequestSource": "eyeball",
                        "EdgeResponseStatus": 200,
                    }
                )
                + "\n"
            )
    return path
