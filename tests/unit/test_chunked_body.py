"""The chunked-body decoder that reads uploads straight from the socket."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest

from glance_svc.api.chunked_body import ChunkedSocketBody, MalformedChunkedBody


@pytest.fixture
def pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    server, client = socket.socketpair()
    server.settimeout(10)
    yield server, client
    server.close()
    client.close()


def chunked(data: bytes, size: int) -> bytes:
    pieces = [b"%x\r\n" % len(data[i:i + size]) + data[i:i + size] + b"\r\n"
              for i in range(0, len(data), size)]
    return b"".join(pieces) + b"0\r\n\r\n"


def send_later(sock: socket.socket, wire: bytes) -> threading.Thread:
    """Send from a thread, so a body larger than the socket buffer cannot deadlock."""
    thread = threading.Thread(target=sock.sendall, args=(wire,), daemon=True)
    thread.start()
    return thread


def read_all(body: ChunkedSocketBody, size: int) -> list[bytes]:
    reads = []
    while data := body.read(size):
        reads.append(bytes(data))
    return reads


def test_small_chunks_are_joined_into_reads_of_the_size_asked(pair):
    server, client = pair
    data = bytes(range(256)) * 4096  # 1 MiB in 1,000-byte chunks
    send_later(client, chunked(data, 1000))
    reads = read_all(ChunkedSocketBody(server, b""), 256 * 1024)
    assert [len(r) for r in reads] == [256 * 1024] * 4
    assert b"".join(reads) == data


def test_large_chunks_are_split_and_joined_across_their_boundaries(pair):
    server, client = pair
    data = bytes(range(251)) * 20_000  # 64 KiB chunks against 100,000-byte reads
    send_later(client, chunked(data, 65536))
    reads = read_all(ChunkedSocketBody(server, b""), 100_000)
    assert [len(r) for r in reads[:-1]] == [100_000] * (len(data) // 100_000)
    assert b"".join(reads) == data


def test_the_head_already_received_is_decoded_first(pair):
    server, client = pair
    wire = chunked(b"hello world", 5)
    client.sendall(wire[7:])
    assert read_all(ChunkedSocketBody(server, wire[:7]), 1024) == [b"hello world"]


def test_extensions_and_trailers_are_accepted_and_what_follows_is_kept(pair):
    server, client = pair
    client.sendall(b"5;name=value\r\nhello\r\n0\r\nX-Trailer: 1\r\n\r\nGET / HTTP/1.1\r\n")
    body = ChunkedSocketBody(server, b"")
    assert read_all(body, 1024) == [b"hello"]
    assert body.done
    assert body.leftover == b"GET / HTTP/1.1\r\n"


@pytest.mark.parametrize(("wire", "message"), [
    (b"zz\r\nhello\r\n0\r\n\r\n", "invalid chunk size b'zz'"),
    (b"\r\nhello\r\n0\r\n\r\n", "invalid chunk size b''"),
    (b"5\r\nhello!!\r\n0\r\n\r\n", "chunk data longer than its size"),
    (b"5;a\rb\r\nhello\r\n0\r\n\r\n", "bare CR in a chunk extension"),
    (b"1" * 9000, "chunk-size line longer than 8190 bytes"),
])
def test_a_malformed_body_is_refused_with_the_reason(pair, wire, message):
    server, client = pair
    client.sendall(wire)
    with pytest.raises(MalformedChunkedBody, match=f"^{message}$".replace("(", r"\(")):
        read_all(ChunkedSocketBody(server, b""), 1024)


def test_the_client_closing_inside_a_chunk_is_an_error(pair):
    server, client = pair
    client.sendall(b"100000\r\n" + b"x" * 1000)
    client.close()
    with pytest.raises(MalformedChunkedBody,
                       match="^the connection closed with 1047576 bytes of a chunk unsent$"):
        read_all(ChunkedSocketBody(server, b""), 1 << 20)


def test_the_client_closing_before_the_last_chunk_is_an_error(pair):
    server, client = pair
    client.sendall(b"5\r\nhello\r\n")
    client.close()
    with pytest.raises(MalformedChunkedBody,
                       match="^the connection closed before the last chunk$"):
        read_all(ChunkedSocketBody(server, b""), 1024)


def test_reading_again_after_a_malformed_body_raises_instead_of_waiting(pair):
    server, client = pair
    client.sendall(b"5\r\nhello\r\nzz\r\n")
    body = ChunkedSocketBody(server, b"")
    with pytest.raises(MalformedChunkedBody):
        body.read(1024)
    with pytest.raises(MalformedChunkedBody, match="^invalid chunk size b'zz'$"):
        body.read(1024)



class ReadySocket:
    """A socket holding the whole body already: each receive (one system call, counted)
    takes what it asks for, at most ``per_call`` bytes."""

    def __init__(self, wire: bytes, per_call: int = 1 << 30) -> None:
        self.wire = memoryview(wire)
        self.per_call = per_call
        self.calls = 0

    def _take(self, size: int) -> memoryview:
        self.calls += 1
        count = min(size, self.per_call, len(self.wire))
        taken, self.wire = self.wire[:count], self.wire[count:]
        return taken

    def recv(self, size: int, flags: int = 0) -> bytes:
        return bytes(self._take(size))

    def recv_into(self, buffer: memoryview, size: int = 0, flags: int = 0) -> int:
        data = self._take(size or len(buffer))
        buffer[:len(data)] = data
        return len(data)

    def recvmsg_into(self, buffers: list[memoryview | bytearray]
                     ) -> tuple[int, list[object], int, None]:
        data = self._take(sum(len(b) for b in buffers))
        done = 0
        for buffer in buffers:
            piece = data[done:done + len(buffer)]
            memoryview(buffer)[:len(piece)] = piece
            done += len(piece)
        return done, [], 0, None


def test_a_64_kib_chunk_and_the_next_size_line_come_in_one_system_call():
    data = bytes(range(256)) * 4096  # 1 MiB: glanceclient's 16 chunks of 64 KiB
    sock = ReadySocket(chunked(data, 65536))
    reads = read_all(ChunkedSocketBody(sock, b""), 1 << 20)  # type: ignore[arg-type]
    assert b"".join(reads) == data
    assert sock.calls == 1 + 16  # the first size line, then one per chunk


def test_a_chunk_arriving_in_pieces_is_received_whole_with_what_follows_kept():
    data = bytes(range(251)) * 1000
    wire = chunked(data, 65536) + b"GET / HTTP/1.1\r\n"
    body = ChunkedSocketBody(ReadySocket(wire, per_call=5000), b"")  # type: ignore[arg-type]
    assert b"".join(read_all(body, 1 << 20)) == data
    assert body.leftover == b"GET / HTTP/1.1\r\n"
