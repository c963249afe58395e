"""A pretend PostgreSQL server that only completes libpq's startup
handshake, announcing any server_version: how the pgstats tests reach a
version no real server in the suite has (an unsupported 12, a future 19).

    fake = FakePostgres(case, "12.22")
    conninfo = fake.conninfo()

It listens on a Unix socket under case.tmp, answers every startup with
"authentication ok", the parameters libpq expects and ReadyForQuery, and
answers any query with an error, so nothing it says can pass for data."""

import os
import socket
import struct
import threading


def message(kind, payload=b""):
    return kind + struct.pack("!I", len(payload) + 4) + payload


def parameter(name, value):
    return message(b"S", name.encode() + b"\0" + value.encode() + b"\0")


def error(text):
    fields = b"SERROR\0C0A000\0M" + text.encode() + b"\0\0"
    return message(b"E", fields)


class FakePostgres:
    def __init__(self, case, server_version, port=5432):
        self.server_version = server_version
        self.dir = case.path("fake-pg")
        os.makedirs(self.dir, exist_ok=True)
        self.port = port
        self.path = os.path.join(self.dir, ".s.PGSQL.%d" % port)
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(self.path)
        self.listener.listen(8)
        self.connections = 0
        self.queries = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()
        case.cleanups.append(self.close)

    def conninfo(self, dbname="postgres"):
        return "host=%s port=%d dbname=%s user=postgres" % (self.dir, self.port, dbname)

    def close(self):
        try:
            self.listener.close()
        except OSError:
            pass

    def _serve(self):
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._session, args=(conn,), daemon=True).start()

    @staticmethod
    def _read(conn, size):
        data = b""
        while len(data) < size:
            chunk = conn.recv(size - len(data))
            if not chunk:
                raise EOFError
            data += chunk
        return data

    def _session(self, conn):
        try:
            length = struct.unpack("!I", self._read(conn, 4))[0]
            self._read(conn, length - 4)            # protocol version and parameters
            conn.sendall(message(b"R", struct.pack("!I", 0))
                         + parameter("server_version", self.server_version)
                         + parameter("server_encoding", "UTF8")
                         + parameter("client_encoding", "UTF8")
                         + parameter("integer_datetimes", "on")
                         + parameter("standard_conforming_strings", "on")
                         + message(b"K", struct.pack("!II", 4242, 1))
                         + message(b"Z", b"I"))
            while True:
                kind = self._read(conn, 1)
                length = struct.unpack("!I", self._read(conn, 4))[0]
                body = self._read(conn, length - 4)
                if kind == b"X":
                    return
                self.queries.append(body)
                if kind in (b"Q", b"S"):
                    conn.sendall(error("this is a pretend server") + message(b"Z", b"I"))
        except (EOFError, OSError):
            pass
        finally:
            conn.close()
