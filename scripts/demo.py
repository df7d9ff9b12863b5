"""`make demo`: a short scripted session through the `sat` CLI, end to end.

Everything runs in a throw-away directory (its own XDG config/data/state dirs), so the
user's real profiles are never touched. A private session bus is started when no
session bus is running, or when a SàT backend already owns the name on it.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.fixtures.dbus import PrivateBus, isolated_environment  # noqa: E402
from tests.fixtures.prosody import prosody_server  # noqa: E402

BIN = Path(sys.executable).parent
DEMO_PASSWORD = "demo password, never shown"


def banner(text: str) -> None:
    print(f"\n\033[1m== {text}\033[0m", flush=True)


def run(env: dict[str, str], *command: str, stdin: str | None = None, check: bool = True,
        capture: bool = False) -> subprocess.CompletedProcess[str]:
    """Show and run a command of the venv; ``capture``: its output is shown, and kept."""
    shown = " ".join(shlex.quote(part) for part in command)
    print(f"$ {shown}" + ("   (password on stdin)" if stdin else ""), flush=True)
    result = subprocess.run(
        [str(BIN / command[0]), *command[1:]], env=env, input=stdin, text=True, capture_output=capture,
        check=False,
    )
    if capture:
        print(result.stdout, end="", flush=True)
        print(result.stderr, end="", file=sys.stderr, flush=True)
    if check and result.returncode != 0:
        raise SystemExit(f"demo: `{shown}` failed with exit code {result.returncode}")
    return result


def capture(env: dict[str, str], *command: str) -> str:
    """Run a command like :func:`run`, show its output and give it back (for uids…)."""
    return run(env, *command, capture=True).stdout


class Monitor:
    """``sat monitor …`` in the background: listening once started, awaited by :meth:`wait`.

    Those still running when the demo stops on an error are ended by :meth:`stop_all`.
    """

    running: list[subprocess.Popen[str]] = []

    def __init__(self, env: dict[str, str], *options: str) -> None:
        self.shown = "sat monitor " + " ".join(shlex.quote(part) for part in options)
        print(f"$ {self.shown} &", flush=True)
        self.process = subprocess.Popen(
            [str(BIN / "sat"), "monitor", *options], env=env,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        Monitor.running.append(self.process)
        assert self.process.stderr is not None
        # "monitoring …" is printed once its match rules are in place: nothing is missed
        print(self.process.stderr.readline(), end="", flush=True)

    def wait(self, *expect: str, timeout: float = 30) -> str:
        """Wait (bounded) for the monitor to exit after its --count; check what it saw."""
        try:
            out, err = self.process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise SystemExit(f"demo: `{self.shown}` saw nothing within {timeout:g} s") from None
        Monitor.running.remove(self.process)
        print(out, end="", flush=True)
        if self.process.returncode != 0:
            raise SystemExit(f"demo: `{self.shown}` failed ({self.process.returncode}): {err.strip()}")
        missing = [text for text in expect if text not in out]
        if missing:
            raise SystemExit(f"demo: `{self.shown}` did not show {missing!r}")
        return out

    @classmethod
    def stop_all(cls) -> None:
        for process in cls.running:
            process.kill()
            process.communicate()
        cls.running.clear()


def session_bus_usable(env: dict[str, str]) -> bool:
    """True when the user's session bus answers and no SàT backend owns our name on it."""
    if not os.environ.get("DBUS_SESSION_BUS_ADDRESS"):
        return False
    probe = (
        "import asyncio\n"
        "from sat_bridge.client import AsyncBridgeClient, BridgeUnavailable\n"
        "async def main():\n"
        "    try:\n"
        "        client = await AsyncBridgeClient.open_bus()\n"
        "    except BridgeUnavailable:\n"
        "        raise SystemExit(2)\n"
        "    try:\n"
        "        await client.get_version(timeout=2)\n"
        "    except BridgeUnavailable:\n"
        "        raise SystemExit(0)\n"
        "    raise SystemExit(1)\n"
        "asyncio.run(main())\n"
    )
    probe_env = dict(env, DBUS_SESSION_BUS_ADDRESS=os.environ["DBUS_SESSION_BUS_ADDRESS"])
    return subprocess.run([sys.executable, "-c", probe], env=probe_env, check=False).returncode == 0


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="sat-demo-") as directory:
        root = Path(directory)
        env = isolated_environment(root / "env", BIN)
        bus = None
        if session_bus_usable(env):
            env["DBUS_SESSION_BUS_ADDRESS"] = os.environ["DBUS_SESSION_BUS_ADDRESS"]
            banner("using your session bus (data in a throw-away directory)")
        else:
            bus = PrivateBus(root / "bus", env)
            env["DBUS_SESSION_BUS_ADDRESS"] = bus.start()
            banner(f"started a private session bus: {env['DBUS_SESSION_BUS_ADDRESS']}")
        try:
            banner("start the backend as a daemon")
            run(env, "sat-backend", "start")
            run(env, "sat-backend", "status")
            banner("talk to it through the bridge with the `sat` CLI")
            run(env, "sat", "version")
            run(
                env, "sat", "profile", "create", "demo", "demo@localhost", "--password-stdin",
                "--host", "127.0.0.1", "--port", "5222", "--tls", "starttls-optional",
                stdin=DEMO_PASSWORD + "\n",
            )
            run(env, "sat", "profile", "create", "work", "me@example.org", "--password-stdin",
                stdin="another secret\n")
            run(env, "sat", "profile", "list")
            run(env, "sat", "param", "set", "General", "Language", "fr", "-p", "demo")
            run(env, "sat", "param", "get", "General", "Language", "-p", "demo")
            run(env, "sat", "param", "get", "Connection", "JabberID", "-p", "work")
            banner("bad input gets a clear, typed error (exit codes are documented)")
            run(env, "sat", "param", "get", "Connection", "Password", "-p", "demo", check=False)
            run(env, "sat", "param", "set", "Connection", "Port", "99999", "-p", "demo", check=False)
            xmpp_demo(env, root)
            banner("machine-readable output")
            run(env, "sat", "--output", "json", "profile", "list")
            run(env, "sat", "debug", "bridge", "ParamGet", "Connection", "Host", "demo")
            banner("stop the backend")
            run(env, "sat-backend", "stop")
            log_file = Path(env["XDG_STATE_HOME"]) / "sat" / "sat-backend.log"
            if DEMO_PASSWORD in log_file.read_text(errors="replace"):
                raise SystemExit("demo: the password appeared in the log!")
            print(f"(the backend log had {len(log_file.read_text().splitlines())} lines, no password)")
        finally:
            Monitor.stop_all()
            run(env, "sat-backend", "stop", check=False) if _running(env) else None
            if bus is not None:
                bus.stop()
    banner("demo finished")
    return 0


def xmpp_demo(env: dict[str, str], root: Path) -> None:
    """Two profiles on a throw-away Prosody (loopback only) chat; signals are shown live."""
    banner("start a throw-away Prosody on 127.0.0.1 with accounts alice and bob")
    server_steps = prosody_server(root / "prosody", {"alice": "alice pw", "bob": "bob pw"})
    server = next(server_steps)
    try:
        for user in ("alice", "bob"):
            run(env, "sat", "profile", "create", user, f"{user}@localhost", "--password-stdin",
                "--host", server.host, "--port", str(server.c2s_port), "--tls", "required",
                "--ca-file", str(server.ca_file), stdin=f"{user} pw\n")
            run(env, "sat", "connect", "-p", user)
        banner("`sat monitor` prints every signal (running in the background)")
        monitor = Monitor(env, "--signal", "MessageNew", "--count", "4")
        hello = capture(env, "sat", "message", "send", "bob@localhost", "Hello Bob, this is Alice", "-p", "alice")
        answer = capture(env, "sat", "message", "send", "alice@localhost", "Hi Alice!", "--subject", "re: hello",
                         "-p", "bob")
        monitor.wait('profile="alice"', 'profile="bob"', "Hi Alice!")
        banner("history, as stored by the backend")
        run(env, "sat", "history", "bob@localhost", "-p", "alice")
        changes_demo(env, alice_uid=hello.strip(), bob_uid=answer.strip())
        blog_demo(env)
        search_demo(env)
        call_demo(env)
        run(env, "sat", "disconnect", "-p", "alice")
        run(env, "sat", "message", "send", "bob@localhost", "offline?", "-p", "alice", check=False)
        run(env, "sat", "disconnect", "-p", "bob")
    finally:
        server_steps.close()


def blog_demo(env: dict[str, str]) -> None:
    """Alice blogs; Bob, her contact, reads her blog from his cache and sees a new post live."""
    banner("contacts: Bob adds Alice, Alice accepts (her blog is visible to her contacts)")
    run(env, "sat", "roster", "add", "alice@localhost", "--name", "Alice", "-p", "bob")
    run(env, "sat", "roster", "answer", "bob@localhost", "accept", "-p", "alice")
    run(env, "sat", "roster", "list", "-p", "bob")
    banner("Alice publishes blog posts (XEP-0277 on her PEP service)")
    for title, text in (("Hello", "My first post."), ("SàT", "A backend on D-Bus."), ("Cache", "Read me offline.")):
        run(env, "sat", "blog", "set", "-t", title, "--tag", "demo", text, "-p", "alice")
    banner("Bob reads her blog: the first read analyses the node, a sync caches it")
    run(env, "sat", "blog", "get", "-s", "alice@localhost", "-p", "bob")
    run(env, "sat", "pubsub", "cache", "sync", "-s", "alice@localhost", "-n", "urn:xmpp:microblog:0", "-p", "bob")
    run(env, "sat", "pubsub", "get", "-s", "alice@localhost", "-n", "urn:xmpp:microblog:0", "-m", "1",
        "--cache-only", "-p", "bob")
    banner("a new post reaches Bob's cache: his PsEvent says it is a blog post, parsed")
    monitor = Monitor(env, "--signal", "PsEvent", "-p", "bob", "--count", "1")
    run(env, "sat", "blog", "set", "-t", "Live", "Posted while Bob watches.", "-p", "alice")
    monitor.wait('PsEvent(category="blog"', '"parsed": {', '"title": "Live"')
    run(env, "sat", "blog", "get", "-s", "alice@localhost", "-m", "2", "-p", "bob")


def changes_demo(env: dict[str, str], alice_uid: str, bob_uid: str) -> None:
    """Reactions, a correction and a retraction, each announced by MessageUpdate.

    A message has a uid on each side: ``sat message send`` prints the sender's, the
    receiver finds his in his history.
    """
    banner("Bob reacts to Alice's message (XEP-0444): its uid on his side is in his history")
    received = json.loads(capture(env, "sat", "--output", "json", "history", "--from", "alice@localhost",
                                  "-n", "1", "-p", "bob"))
    if len(received) != 1 or received[0]["message"].get("") != "Hello Bob, this is Alice":
        raise SystemExit(f"demo: Bob's history does not end with Alice's message: {received!r}")
    monitor = Monitor(env, "--signal", "MessageUpdate", "-p", "alice", "--count", "1")
    run(env, "sat", "message", "react", received[0]["uid"], "👍", "-p", "bob")
    monitor.wait(f'uid="{alice_uid}"', 'update_type="reactions"', "👍")
    banner("Alice corrects her message (XEP-0308); Bob's copy is updated")
    monitor = Monitor(env, "--signal", "MessageUpdate", "-p", "bob", "--count", "1")
    run(env, "sat", "message", "edit", alice_uid, "Hello Bob, this is Alice (corrected)", "-p", "alice")
    monitor.wait(f'uid="{received[0]["uid"]}"', 'update_type="edit"', "(corrected)")
    run(env, "sat", "history", "bob@localhost", "-p", "alice")
    run(env, "sat", "history", "alice@localhost", "-p", "bob")
    banner("Bob retracts his answer (XEP-0424): Alice's history keeps only a mark")
    monitor = Monitor(env, "--signal", "MessageUpdate", "-p", "alice", "--count", "1")
    run(env, "sat", "message", "retract", bob_uid, "-p", "bob")
    monitor.wait('update_type="retract"')
    history = capture(env, "sat", "history", "bob@localhost", "-p", "alice")
    if not all(text in history for text in ("(message retracted)", "(corrected) (edited)", "👍 bob@localhost")):
        raise SystemExit("demo: Alice's history does not show the reaction, the correction and the retraction")


def search_demo(env: dict[str, str]) -> None:
    """Bob's cache is searchable offline: full text, and filters on the parsed posts."""
    banner("search Bob's cache: full text (any case, accents ignored) and parsed fields")
    found = capture(env, "sat", "pubsub", "cache", "search", "--fts", "sat OR OFFLINE", "-p", "bob")
    if table_titles(found) != {"SàT", "Cache"}:
        raise SystemExit(f"demo: the full-text search found {sorted(table_titles(found))!r}")
    tagged = capture(env, "sat", "pubsub", "cache", "search", "-F", "tags", "overlap", '["demo"]', "-p", "bob")
    if table_titles(tagged) != {"Hello", "SàT", "Cache"}:  # "Live" has no tag
        raise SystemExit(f"demo: the tag filter found {sorted(table_titles(tagged))!r}")


def call_demo(env: dict[str, str]) -> None:
    """A one-second audio/video call over loopback (aiortc): Bob waits and answers, Alice
    calls his bare JID (every device of his rings, XEP-0353); each prints its state changes
    and when its first audio frame came. The demo fails when a side received no audio."""
    banner("a one-second call: Bob answers, Alice calls bob@localhost (media on 127.0.0.1)")
    run(env, "sat", "roster", "add", "bob@localhost", "--name", "Bob", "-p", "alice")
    loopback = ("--host-address", "127.0.0.1")
    answer = ("sat", "call", "answer", "alice@localhost", *loopback, "--wait", "30", "-p", "bob")
    print("$ " + " ".join(answer) + " &", flush=True)
    bob = subprocess.Popen([str(BIN / "sat"), *answer[1:]], env=env, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True)
    Monitor.running.append(bob)
    assert bob.stdout is not None
    while "waiting for a call" not in (line := bob.stdout.readline()):  # subscribed: no call is missed
        if not line:
            raise SystemExit(f"demo: `sat call answer` stopped: {bob.communicate()[1].strip()}")
    alice = run(env, "sat", "call", "bob@localhost", "--duration", "1", *loopback, "-p", "alice", capture=True)
    try:
        bob_out, bob_err = bob.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        raise SystemExit("demo: Bob's `sat call answer` did not end with the call") from None
    Monitor.running.remove(bob)
    print("Bob's side:\n" + "".join(f"  {line}\n" for line in bob_out.splitlines()), end="", flush=True)
    for who, out, code in (("Alice", alice.stdout, alice.returncode), ("Bob", bob_out, bob.returncode)):
        if code != 0 or "first audio frame received" not in out:
            raise SystemExit(f"demo: {who}'s side of the call received no audio (exit code {code}) {bob_err.strip()}")
    banner("the call is in both histories")
    for profile, contact in (("alice", "bob@localhost"), ("bob", "alice@localhost")):
        history = capture(env, "sat", "history", contact, "-n", "1", "-p", profile)
        if "call," not in history:
            raise SystemExit(f"demo: {profile}'s history does not end with the call")


def table_titles(table: str) -> set[str]:
    """The TITLE column (last, one word in the demo) of a ``sat pubsub cache search`` table."""
    return {line.split()[-1] for line in table.splitlines()[1:] if line.strip()}


def _running(env: dict[str, str]) -> bool:
    return subprocess.run(
        [str(BIN / "sat-backend"), "status"], env=env, capture_output=True, check=False
    ).returncode == 0


if __name__ == "__main__":
    sys.exit(main())
