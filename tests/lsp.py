"""A small LSP client (JSON-RPC over stdio) for driving a real language server from tests.

Used by tests/test_editor.py against yaml-language-server, the engine of VS Code's YAML extension
(and of Neovim's and other editors' YAML support). One server process serves many documents;
each document gets its own URI so diagnostics never mix.
"""

from __future__ import annotations

import itertools
import json
import queue
import subprocess
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any


class LspError(RuntimeError):
    pass


class LspClient:
    """Starts `command` (a server speaking LSP over stdio) and talks to it."""

    def __init__(self, command: Sequence[str], cwd: Path | None = None, timeout: float = 20.0):
        self.timeout = timeout
        self._proc = subprocess.Popen(
            list(command),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            cwd=cwd,
        )
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._pending: dict[int, queue.Queue] = {}
        self._diagnostics: dict[str, queue.Queue] = {}
        self.settings: dict[str, Any] = {}  # answers the server's workspace/configuration
        self.notifications: list[dict[str, Any]] = []
        self._reader = threading.Thread(target=self._read_loop, daemon=True)
        self._reader.start()

    # -- transport ---------------------------------------------------------------------------

    def _send(self, message: dict[str, Any]) -> None:
        body = json.dumps({"jsonrpc": "2.0", **message}).encode()
        with self._lock:
            self._proc.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
            self._proc.stdin.flush()

    def _read_message(self) -> dict[str, Any] | None:
        stream = self._proc.stdout
        length = None
        while True:
            line = stream.readline()
            if not line:
                return None
            line = line.strip()
            if not line:
                break
            name, _, value = line.decode().partition(":")
            if name.lower() == "content-length":
                length = int(value)
        if length is None:
            raise LspError("message without Content-Length")
        return json.loads(stream.read(length))

    def _read_loop(self) -> None:
        while True:
            try:
                message = self._read_message()
            except (OSError, ValueError):
                message = None
            if message is None:
                for waiter in list(self._pending.values()):
                    waiter.put({"error": {"message": "server exited"}})
                return
            if "id" in message and "method" in message:  # a request from the server
                self._send({"id": message["id"], "result": self._answer(message)})
            elif "id" in message:
                waiter = self._pending.pop(message["id"], None)
                if waiter is not None:
                    waiter.put(message)
            elif message.get("method") == "textDocument/publishDiagnostics":
                params = message["params"]
                self._diagnostic_queue(params["uri"]).put(params["diagnostics"])
            else:
                self.notifications.append(message)

    def _answer(self, request: dict[str, Any]) -> Any:
        if request["method"] == "workspace/configuration":
            return [
                self.settings.get(item.get("section"), None) for item in request["params"]["items"]
            ]
        return None  # client/registerCapability, window/workDoneProgress/create, ...

    def _diagnostic_queue(self, uri: str) -> queue.Queue:
        with self._lock:
            return self._diagnostics.setdefault(uri, queue.Queue())

    # -- protocol ----------------------------------------------------------------------------

    def request(self, method: str, params: Any) -> Any:
        ident = next(self._ids)
        waiter: queue.Queue = queue.Queue()
        self._pending[ident] = waiter
        self._send({"id": ident, "method": method, "params": params})
        try:
            reply = waiter.get(timeout=self.timeout)
        except queue.Empty:
            raise LspError(f"{method}: no answer in {self.timeout} s") from None
        if "error" in reply:
            raise LspError(f"{method}: {reply['error'].get('message')}")
        return reply.get("result")

    def notify(self, method: str, params: Any) -> None:
        self._send({"method": method, "params": params})

    def initialize(self, root: Path, settings: dict[str, Any]) -> dict[str, Any]:
        """The handshake, then `settings` (e.g. {"yaml": {...}}) as the workspace settings."""
        self.settings = settings
        result = self.request(
            "initialize",
            {
                "processId": None,
                "rootUri": root.as_uri(),
                "workspaceFolders": [{"uri": root.as_uri(), "name": root.name}],
                "capabilities": {
                    "textDocument": {
                        "completion": {
                            "completionItem": {
                                "snippetSupport": True,
                                "documentationFormat": ["markdown", "plaintext"],
                            }
                        },
                        "hover": {"contentFormat": ["markdown", "plaintext"]},
                        "publishDiagnostics": {"relatedInformation": True},
                    },
                    "workspace": {"configuration": True, "didChangeConfiguration": {}},
                },
            },
        )
        self.notify("initialized", {})
        self.notify("workspace/didChangeConfiguration", {"settings": settings})
        return result

    def open(self, uri: str, text: str, language: str = "yaml") -> None:
        self.notify(
            "textDocument/didOpen",
            {"textDocument": {"uri": uri, "languageId": language, "version": 1, "text": text}},
        )

    def close(self, uri: str) -> None:
        self.notify("textDocument/didClose", {"textDocument": {"uri": uri}})

    def diagnostics(self, uri: str, timeout: float | None = None) -> list[dict[str, Any]]:
        """The next diagnostics the server publishes for `uri` (after an open or a change)."""
        try:
            return self._diagnostic_queue(uri).get(timeout=timeout or self.timeout)
        except queue.Empty:
            raise LspError(f"no diagnostics for {uri} in {timeout or self.timeout} s") from None

    def completion(self, uri: str, line: int, character: int) -> list[dict[str, Any]]:
        result = self.request(
            "textDocument/completion",
            {
                "textDocument": {"uri": uri},
                "position": {"line": line, "character": character},
                "context": {"triggerKind": 1},
            },
        )
        if result is None:
            return []
        return result["items"] if isinstance(result, dict) else result

    def hover(self, uri: str, line: int, character: int) -> str | None:
        """The hover text (markdown or plain), or None."""
        result = self.request(
            "textDocument/hover",
            {"textDocument": {"uri": uri}, "position": {"line": line, "character": character}},
        )
        if not result:
            return None
        contents = result["contents"]
        if isinstance(contents, list):
            return "\n".join(c if isinstance(c, str) else c["value"] for c in contents)
        return contents if isinstance(contents, str) else contents["value"]

    def shutdown(self) -> None:
        try:
            self.request("shutdown", None)
            self.notify("exit", None)
            self._proc.wait(timeout=5)
        except (LspError, OSError, subprocess.TimeoutExpired):
            self._proc.kill()
            self._proc.wait()
        finally:
            for stream in (self._proc.stdin, self._proc.stdout):
                stream.close()
