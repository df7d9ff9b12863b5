"""MbGet of N cached blog posts: the cache's stored parsed data returned as it is, against
the raw read of the same page (PsItemsGet from the cache: the floor) and MbGet from the
service (use_cache false: fetched and parsed). Run the same script on an older tree
(``PYTHONPATH=<tree>``) for the figure before the change.

Run by hand (never in tests): ``.venv/bin/python bench/bench_microblog_cache.py [--posts N]``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.xmpp_harness import xmpp_bench  # noqa: E402
from tests.fixtures.xmpp_peer import connected_peer  # noqa: E402

SERVICE = "pubsub.localhost"
BLOG = "urn:xmpp:microblog:0"
ACCOUNTS = {"alice": "alice pw", "carol": "carol pw"}


def post(index: int) -> str:
    """A post as a client would write it: XHTML content to sanitise, tags, comments link."""
    paragraphs = "".join(f"<p>Paragraph {n} of post {index}, with <strong>bold</strong>, <em>emphasis</em> and "
                         f"<a href='https://example.org/{n}'>a link</a>.</p>" for n in range(5))
    return (f"<entry xmlns='http://www.w3.org/2005/Atom'><title>Post {index}</title><id>urn:post:{index}</id>"
            f"<published>2024-01-01T10:00:00Z</published><updated>2024-01-01T10:00:00Z</updated>"
            f"<author><name>carol</name><uri>xmpp:carol@localhost</uri></author>"
            f"<content type='xhtml'><div xmlns='http://www.w3.org/1999/xhtml'>{paragraphs}</div></content>"
            f"<category term='bench'/><category term='t{index % 7}'/>"
            f"<link rel='replies' title='comments' href='xmpp:{SERVICE}?;node=urn%3Axmpp%3Amicroblog%3A0"
            f"%3Acomments%2Fp{index}'/></entry>")


def median_ms(reads: int, call: Callable[[], None]) -> float:
    times = []
    for _ in range(reads):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--posts", type=int, default=500)
    parser.add_argument("--reads", type=int, default=15)
    options = parser.parse_args()
    with xmpp_bench(ACCOUNTS, ("alice",)) as (client, server):
        client.connect("alice")
        with connected_peer(server, "carol", ACCOUNTS["carol"]) as carol:
            carol.create_node(SERVICE, BLOG, {"pubsub#max_items": "max"})
            carol.publish_many(SERVICE, BLOG, [(f"p{index}", post(index)) for index in range(options.posts)],
                               timeout=120)
        client.mb_get(SERVICE, BLOG, 0, [], "{}", "alice")  # first read: analysed as a blog
        client.ps_cache_sync(SERVICE, BLOG, "alice")

        def mb_get(use_cache: bool) -> None:
            result = json.loads(client.mb_get(SERVICE, BLOG, 0, [], json.dumps({"use_cache": use_cache}), "alice"))
            assert len(result["items"]) == options.posts and result["cached"] is use_cache

        def raw() -> None:
            result = json.loads(client.ps_items_get(SERVICE, BLOG, 0, [], "", "{}", "alice"))
            assert len(result["items"]) == options.posts and result["cached"] is True

        cached = median_ms(options.reads, lambda: mb_get(True))
        floor = median_ms(options.reads, raw)
        service = median_ms(options.reads, lambda: mb_get(False))
    print(f"MbGet of {options.posts} cached posts, median of {options.reads}: {cached:.1f} ms "
          f"(PsItemsGet of the same page from the cache, raw XML: {floor:.1f} ms, ratio {cached / floor:.2f}x; "
          f"MbGet from the service: {service:.1f} ms)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
