// Reads your inbox as an async iterable until it has been idle for two seconds.
//   SWITCHYARD_URL=... SWITCHYARD_TOKEN=sy_... node examples/iterate.ts
import { SwitchyardClient } from '@switchyard/client';

const client = new SwitchyardClient({ url: process.env.SWITCHYARD_URL ?? 'http://localhost:8080', token: process.env.SWITCHYARD_TOKEN! });
const idle = new AbortController();
let timer = setTimeout(() => idle.abort(), 2_000);
for await (const message of client.messages({ transport: 'sse', signal: idle.signal })) {
  console.log(`${message.from} -> ${message.to}: ${JSON.stringify(message.payload)}`);
  clearTimeout(timer);
  timer = setTimeout(() => idle.abort(), 2_000); // acked when the loop moves on
}
await client.close();
console.log('idle, done');
