# A minimal seccomp agent for the tests: accepts one connection on the socket given
# as argv[1], receives the listener fd and the JSON state runc-style, prints what it
# got as one JSON line, and exits (closing the listener without answering).
import json
import os
import socket
import sys

path = sys.argv[1]
server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
server.bind(path)
server.listen(1)
print("listening", flush=True)
conn, _ = server.accept()
message, fds, _, _ = socket.recv_fds(conn, 65536, 4)
print(json.dumps({"fd": os.readlink(f"/proc/self/fd/{fds[0]}"), "message": json.loads(message)}), flush=True)
