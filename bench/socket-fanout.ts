// npm run bench:sockets: the floor under the broadcast row. One Node process writes one small SSE
// event (with HTTP chunked framing, as a response does) to 10,000 open loopback sockets; a second
// process holds the sockets and reports when every one has received it. No HTTP server, no
// database, no per-stream work: what the kernel and Node's sockets alone cost on this host.
// Prints the write loop and the last receipt of 10 rounds, fastest first.
import { fork, type ChildProcess } from 'node:child_process';
import net from 'node:net';

const STREAMS = 10_000;
const ROUNDS = 10;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const now = () => performance.timeOrigin + performance.now();

async function holdSockets(port: number): Promise<void> {
  let received = 0;
  for (let i = 0; i < STREAMS; i++) {
    const socket = net.connect(port, '127.0.0.1');
    socket.setNoDelay(true);
    socket.on('data', () => {
      received += 1;
      if (received === STREAMS) {
        received = 0;
        process.send!({ at: now() });
      }
    });
    if (i % 500 === 499) await sleep(20);
  }
}

async function writeToAll(): Promise<void> {
  const sockets: net.Socket[] = [];
  const server = net.createServer((socket) => {
    socket.setNoDelay(true);
    sockets.push(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const child: ChildProcess = fork(import.meta.filename, ['hold', String((server.address() as net.AddressInfo).port)]);
  while (sockets.length < STREAMS) await sleep(100);
  await sleep(1_000);
  const rounds: { loop: number; last: number }[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const received = new Promise<{ at: number }>((resolve) => child.once('message', resolve as (m: unknown) => void));
    const event = `event: message\nid: ${round}\ndata: {"id":"0192f0c2-aaaa-7000-8000-000000000000","from":"user:publisher","to":"topic:broadcast","payload":{"n":${round}}}\n\n`;
    const started = now();
    for (const socket of sockets) {
      socket.cork();
      socket.write(`${Buffer.byteLength(event).toString(16)}\r\n`);
      socket.write(event);
      socket.write('\r\n');
      socket.uncork();
    }
    const loop = now() - started;
    rounds.push({ loop, last: (await received).at - started });
    await sleep(500);
  }
  rounds.sort((a, b) => a.last - b.last);
  for (const r of rounds) console.log(`write loop ${r.loop.toFixed(0)} ms, last receipt ${r.last.toFixed(0)} ms`);
  child.kill();
  server.close();
  for (const socket of sockets) socket.destroy();
}

if (process.argv[2] === 'hold') await holdSockets(Number(process.argv[3]));
else await writeToAll();
