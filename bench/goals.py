"""Issue 14's table, line by line, from the figures the benches recorded: each line gets its
figure, the goal beside it and whether it is met ("not measured" where no bench gave one:
never a made-up number)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

Figure = dict[str, Any]
Row = tuple[str, str, str, str]
NOT_MEASURED = "not measured"
BACKENDS = ("sqlite", "postgresql")
RANKED_LINE = "ranked, common word, page 1 (20)"
RANKED_WORDS_LINE = "ranked, two common words, page 1 (20)"


def find(figures: list[Figure], key: str, **labels: object) -> list[Figure]:
    return [f for f in figures if f["key"] == key and all(f.get(k) == v for k, v in labels.items())]


def backend_of(figure: Figure) -> str:
    """bench_cache_page names its backends "SQLite (file)" / "PostgreSQL"."""
    return "sqlite" if "sqlite" in str(figure.get("backend", "")).lower() else "postgresql"


def verdict(value: float | None, ok: Callable[[float], bool]) -> str:
    return NOT_MEASURED if value is None else ("yes" if ok(value) else "no")


def row(measure: str, figure: Figure | None, fmt: str, goal: str, ok: Callable[[float], bool],
        size: tuple[int, int] | None = None) -> Row:
    """``size`` (measured, the goal's): a figure from a smaller run says so beside its verdict."""
    value = None if figure is None else figure["value"]
    met = verdict(value, ok)
    if value is not None and size and size[0] < size[1]:
        met += f" at {size[0]:,} (goal at {size[1]:,}: --full)"
    return measure, NOT_MEASURED if value is None else fmt.format(value), goal, met


def context_row(measure: str, figure: Figure | None, fmt: str, why: str) -> Row:
    """A figure printed for context, with no goal of the issue: says why instead of a verdict."""
    value = None if figure is None else figure["value"]
    return measure, NOT_MEASURED if value is None else fmt.format(value), "(context)", why


def first(found: list[Figure]) -> Figure | None:
    return found[0] if found else None


def rows(figures: list[Figure]) -> Iterator[Row]:
    yield row("exec → bus name owned (median)", first(find(figures, "start_ms")), "{:.0f} ms",
              "≤ 500 ms", lambda v: v <= 500)
    yield row("exec → first answer reading storage, ready (median)", first(find(figures, "ready_ms")),
              "{:.0f} ms", "≤ 500 ms", lambda v: v <= 500)
    yield from cached_read(figures)
    for backend in BACKENDS:
        pages = [f for f in find(figures, "page_ms") if backend_of(f) == backend]
        for size in (1000, 10_000, 100_000):
            at_size = [f for f in pages if f["size"] == size]
            worst = max(at_size, key=lambda f: f["value"]) if at_size else None
            yield row(f"page of 20, cached node of {size:,} [{backend}] (slowest kind)", worst, "{:.2f} ms",
                      "≤ 2 ms", lambda v: v <= 2)
    for backend in BACKENDS:
        yield row(f"one DB round trip: uncached param read [{backend}] (median of runs)",
                  first(find(figures, "param_read_uncached_ms", backend=backend)), "{:.3f} ms", "≤ 0.2 ms",
                  lambda v: v <= 0.2)
        yield context_row(f"its floor: the same select by the plain driver [{backend}] (median of runs)",
                          first(find(figures, "param_read_driver_ms", backend=backend)), "{:.3f} ms",
                          "sqlite3 on the same file" if backend == "sqlite"
                          else "a prepared asyncpg statement, on a connection of its own")
    for backend in BACKENDS:
        floor = first([f for f in find(figures, "round_trip_ms") if backend_of(f) == backend])
        yield context_row(f"floor of a scan on the worker-thread engine: transaction + SELECT 1 [{backend}]",
                          floor, "{:.3f} ms", "the engine of long scans (search, sync), not of short calls")
    for backend in BACKENDS:
        ranked = first(find(figures, "ranked_ms", backend=backend, name=RANKED_LINE))
        count = ranked["items"] if ranked else 100_000
        yield row(f"FTS common word ranked, {count:,} items [{backend}] (slowest run)", ranked, "{:.1f} ms",
                  "≤ 20 ms at 100k", lambda v: v <= 20, (count, 100_000))
        words = first(find(figures, "ranked_ms", backend=backend, name=RANKED_WORDS_LINE))
        yield context_row(f"FTS two common words ranked, {count:,} items [{backend}] (slowest run)", words,
                          "{:.1f} ms", "the goal names one word; two words rank every item having both")
    for backend in BACKENDS:
        for mode in ("sequential", "pipelined"):
            yield context_row(f"notifications ingested + signalled, {mode} publishes by a client [{backend}]",
                              first(find(figures, "ingest_per_s", mode=mode, backend=backend)), "{:.0f} items/s",
                              "bounded by Prosody's publishing; the goal's local feed is the component below")
    yield from ingest(figures)
    yield from message_send(figures)
    yield from catch_up(figures)
    yield from memory(figures)
    yield from unread(figures)


def message_send(figures: list[Figure]) -> Iterator[Row]:
    """bench_messaging: the same sequential sends from the blocking client (the line the
    issue's figure was taken with) and from the async one, each with its backend CPU."""
    send = first(find(figures, "message_send_per_s"))
    calls = f"{send['messages']:,} sequential calls" if send else "sequential calls"
    for client, suffix in (("blocking BridgeClient, a thread hop per call", ""),
                           ("AsyncBridgeClient awaiting each, as a frontend on an event loop", "_async")):
        yield row(f"MessageSend ({calls}, {client}) [sqlite]", first(find(figures, f"message_send{suffix}_per_s")),
                  "{:.0f} calls/s", "≥ 1,000 calls/s", lambda v: v >= 1000)
        yield row("same, backend CPU per message sent and received [sqlite]",
                  first(find(figures, f"message_send{suffix}_cpu_ms")), "{:.2f} ms", "≤ 0.8 ms", lambda v: v <= 0.8)
    yield context_row("MessageSend to an offline contact of no profile here, async client: the sending side "
                      "alone [sqlite]", first(find(figures, "message_send_alone_per_s")), "{:.0f} calls/s",
                      "no receiving side: what the sends themselves reach")
    yield context_row("same, backend CPU per message sent [sqlite]", first(find(figures, "message_send_alone_cpu_ms")),
                      "{:.2f} ms", "the sending half of the line above's CPU")


def catch_up(figures: list[Figure]) -> Iterator[Row]:
    """bench_mam_catch_up: a reconnection after an absence, every message from the archive
    (the server keeps none for the return): no line of the issue's table, the other side
    of messaging's cost (a catch-up of thousands stores them by page)."""
    for absence in (1, 2):
        found = find(figures, "catch_up_cpu_ms", absence=absence, offline_storage=False)
        size = f"{found[0]['messages']:,} " if found else ""
        yield context_row(f"archive catch-up of {size}messages, backend CPU per message (absence {absence}) [sqlite]",
                          first(found), "{:.3f} ms", "not a goal of the issue: a reconnection's cost")


def unread(figures: list[Figure]) -> Iterator[Row]:
    """bench_unread: ``UnreadGet("")`` on a long history, in its usual state (a few unread
    in each conversation) and with half of the history unread."""
    for backend in BACKENDS:
        few = first(find(figures, "unread_all_ms", backend=backend, state="all but the last few"))
        half = first(find(figures, "unread_all_ms", backend=backend, state="half read"))
        size = f"{few['messages']:,} messages, " if few else ""
        figure = NOT_MEASURED if few is None or half is None else (
            f"{few['value']:.1f} ms (a few unread), {half['value']:.1f} ms (half unread)")
        yield (f"unread counts of every conversation, UnreadGet(\"\") ({size}50 conversations) [{backend}]",
               figure, "(context)", "not a line of the issue; bounded by the unread messages, not the history")
        referenced = first(find(figures, "referenced_old_ms", backend=backend))
        yield context_row(f"the message a received change names, an old one (same history) [{backend}]", referenced,
                          "{:.2f} ms", "not a line of the issue; by its id's index, not the history (0011)")


def cached_read(figures: list[Figure]) -> Iterator[Row]:
    cache = first(find(figures, "read_ms", source="cache", backend="sqlite"))
    service = first(find(figures, "read_ms", source="service", backend="sqlite"))
    measure = (f"read {cache['items'] if cache else 1000} items again (page kept in memory): PsItemsGet cache "
               "vs use_cache false [sqlite]")
    if cache is None or service is None:
        yield measure, NOT_MEASURED, "≥ 30×", NOT_MEASURED
    else:
        ratio = service["value"] / cache["value"]
        figure = f"{cache['value']:.0f} vs {service['value']:.0f} ms: {ratio:.1f}×"
        yield measure, figure, "≥ 30×", verdict(ratio, lambda v: v >= 30)
    raw = first(find(figures, "read_ms", source="raw", backend="sqlite"))
    if cache is None or raw is None:
        yield ("same read: cache vs raw sqlite3 of the same rows", NOT_MEASURED, "≤ 2× raw", NOT_MEASURED)
    else:
        ratio = cache["value"] / raw["value"]
        yield ("same read: cache vs raw (dbus-fast service reading with sqlite3)",
               f"{cache['value']:.1f} vs {raw['value']:.1f} ms: {ratio:.2f}×", "≤ 2× raw",
               verdict(ratio, lambda v: v <= 2))
    cache = first(find(figures, "read_ms", source="cache", backend="postgresql"))
    service = first(find(figures, "read_ms", source="service", backend="postgresql"))
    if cache is None or service is None:
        yield "same read [postgresql] (bench_pubsub_cache.py --postgresql)", NOT_MEASURED, "≥ 30×", NOT_MEASURED
    else:
        ratio = service["value"] / cache["value"]
        yield ("same read [postgresql]", f"{cache['value']:.1f} vs {service['value']:.0f} ms: {ratio:.1f}×", "≥ 30×",
               verdict(ratio, lambda v: v >= 30))
    for backend in BACKENDS:
        after_change = first(find(figures, "read_ms", source="cache_after_change", backend=backend))
        yield context_row(f"same read, the first after a change of the node (the database's page) [{backend}]",
                          after_change, "{:.1f} ms", "the lines above are reads repeated, answered with the "
                          "page kept in memory")
    for backend in BACKENDS:
        echo = first(find(figures, "read_ms", source="echo", backend=backend))
        yield context_row(f"same answer echoed by a raw dbus-fast service (the bus and the caller alone) [{backend}]",
                          echo, "{:.1f} ms", "the floor under any backend's read: use_cache false / this is the "
                          "highest ratio the bus allows")


def ingest(figures: list[Figure]) -> Iterator[Row]:
    """bench_pubsub_ingest: N one-item notifications from a component, slowest of its runs."""
    for backend in BACKENDS:
        e2e = first(find(figures, "ingest_e2e_per_s", backend=backend))
        count = f"{e2e['items']:,} " if e2e else ""
        yield row(f"{count}notifications from a component, end to end [{backend}] (slowest run)", e2e,
                  "{:.0f} items/s", "≥ 1,000 items/s", lambda v: v >= 1000)
        cpu = first(find(figures, "ingest_per_cpu_s", backend=backend))
        yield row(f"same, items per daemon CPU-second [{backend}] (slowest run)", cpu,
                  "{:.0f} items/s", "≥ 3,000 items/s per core", lambda v: v >= 3000)


def memory(figures: list[Figure]) -> Iterator[Row]:
    started = first(find(figures, "rss_mb", bench="bench_messaging", phase="after start"))
    yield row("backend RSS after start (bus name owned, no profile yet)", started, "{:.0f} MB", "≤ 100 MB",
              lambda v: v <= 100)
    after_items = first(after_run(figures, "bench_pubsub_cache"))
    yield row("backend RSS after the 1,000-item pubsub run", after_items, "{:.0f} MB", "≤ 100 MB",
              lambda v: v <= 100)
    for backend in BACKENDS:
        burst = first(find(figures, "rss_after_burst_mb", backend=backend))
        yield row(f"backend RSS after a burst of {burst['items'] if burst else 10_000:,} pubsub notifications "
                  f"[{backend}]", burst, "{:.0f} MB", "bounded (≤ 100 MB)", lambda v: v <= 100)
    flood = first(after_run(figures, "bench_messaging"))
    send = first(find(figures, "message_send_per_s"))
    count = send["messages"] if send else 10_000
    yield row(f"backend RSS after a {count:,}-message flood", flood, "{:.0f} MB",
              "bounded (≤ 100 MB)", lambda v: v <= 100, (count, 10_000))


def after_run(figures: list[Figure], bench: str) -> list[Figure]:
    """RSS figures a bench recorded once its work was done (the harness labels only the
    one taken after start)."""
    return [f for f in find(figures, "rss_mb", bench=bench) if f.get("phase") != "after start"]


def table(figures: list[Figure]) -> str:
    """The rows as a Markdown table (readable as it is printed, pasteable in the issue)."""
    lines = [("measure", "figure(s)", "goal (issue 14)", "met?"), *rows(figures)]
    widths = [max(len(line[i]) for line in lines) for i in range(4)]
    out = ["| " + " | ".join(cell.ljust(width) for cell, width in zip(line, widths)) + " |" for line in lines]
    out.insert(1, "|" + "|".join("-" * (width + 2) for width in widths) + "|")
    return "\n".join(out)
