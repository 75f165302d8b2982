#!/usr/bin/env python3
"""A link that is worse than loopback, for tests and benchmarks on hosts without tc netem.

Usage: impair.py udp|tcp TARGET_PORT [--delay MS] [--loss PERCENT] [--seed N]
Listens on 127.0.0.1 (a free port, printed on stdout) and relays to 127.0.0.1:TARGET_PORT,
holding every datagram or chunk back by --delay milliseconds in each direction and (UDP
only) dropping --loss percent of datagrams each way. UDP follows TFTP's habit of answering
from a new port: each client gets its own upstream socket, which forwards to whatever port
the server last answered from.
"""
import argparse
import asyncio
import random
import sys


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["udp", "tcp"])
    parser.add_argument("target", type=int)
    parser.add_argument("--delay", type=float, default=0.0)
    parser.add_argument("--loss", type=float, default=0.0)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    delay = args.delay / 1000.0
    loop = asyncio.new_event_loop()

    def later(action):
        if delay > 0:
            loop.call_later(delay, action)
        else:
            action()

    def dropped():
        return args.loss > 0 and rng.random() * 100 < args.loss

    if args.mode == "udp":
        class Upstream(asyncio.DatagramProtocol):
            def __init__(self, front, client):
                self.front, self.client, self.server = front, client, ("127.0.0.1", args.target)

            def connection_made(self, transport):
                self.transport = transport

            def datagram_received(self, data, addr):
                self.server = addr
                if not dropped():
                    later(lambda: self.front.transport.sendto(data, self.client))

        class Front(asyncio.DatagramProtocol):
            def __init__(self):
                self.sessions = {}

            def connection_made(self, transport):
                self.transport = transport

            def datagram_received(self, data, addr):
                session = self.sessions.get(addr)
                if session is None:
                    future = loop.create_datagram_endpoint(lambda: Upstream(self, addr), local_addr=("127.0.0.1", 0))
                    task = loop.create_task(future)

                    def ready(t, data=data):
                        _, up = t.result()
                        self.sessions[addr] = up
                        if not dropped():
                            later(lambda: up.transport.sendto(data, up.server))
                    task.add_done_callback(ready)
                    return
                if not dropped():
                    later(lambda: session.transport.sendto(data, session.server))

        transport, _ = loop.run_until_complete(loop.create_datagram_endpoint(Front, local_addr=("127.0.0.1", 0)))
        port = transport.get_extra_info("sockname")[1]
    else:
        async def pump(reader, writer):
            queue = asyncio.Queue()

            async def send():
                while True:
                    due, chunk = await queue.get()
                    wait = due - loop.time()
                    if wait > 0:
                        await asyncio.sleep(wait)
                    if chunk is None:
                        writer.close()
                        return
                    writer.write(chunk)
                    await writer.drain()
            sender = loop.create_task(send())
            while True:
                chunk = await reader.read(65536)
                queue.put_nowait((loop.time() + delay, chunk or None))
                if not chunk:
                    break
            await sender

        async def handle(client_reader, client_writer):
            try:
                server_reader, server_writer = await asyncio.open_connection("127.0.0.1", args.target)
            except OSError:
                client_writer.close()
                return
            await asyncio.gather(pump(client_reader, server_writer), pump(server_reader, client_writer), return_exceptions=True)

        server = loop.run_until_complete(asyncio.start_server(handle, "127.0.0.1", 0))
        port = server.sockets[0].getsockname()[1]
    print(port, flush=True)
    loop.run_forever()


if __name__ == "__main__":
    sys.exit(main())
