// Publishes three messages to your own address and consumes them over a WebSocket (falling back
// to SSE, then long poll), acking each, then shows request/reply with a responder.
//   SWITCHYARD_URL=http://localhost:8080 SWITCHYARD_TOKEN=sy_... SWITCHYARD_NAME=alice node examples/publish-and-consume.ts
import { SwitchyardClient } from '@switchyard/client';

const url = process.env.SWITCHYARD_URL ?? 'http://localhost:8080';
const me = `user:${process.env.SWITCHYARD_NAME}`;
const client = new SwitchyardClient({ url, token: process.env.SWITCHYARD_TOKEN! });
client.onState(({ state, transport, reason }) => console.log(`state ${state} over ${transport}${reason ? ` (${reason})` : ''}`));

interface Greeting { n: number; text: string }
const { ids } = await client.publishBatch<Greeting>([1, 2, 3].map((n) => ({ to: me, type: 'greeting', payload: { n, text: 'hello' } })));
console.log(`published ${ids.length}`);

let received = 0;
const consumer = client.consume<Greeting | { question: number }>(async (message) => {
  if (message.type === 'greeting') {
    console.log(`received greeting ${(message.payload as Greeting).n}`);
    received += 1;
  } else if (message.reply_to) {
    // A request: answer it; the reply goes to reply_to with the same correlation id.
    await client.publish({ to: message.reply_to, correlation_id: message.correlation_id!, payload: { answer: (message.payload as { question: number }).question * 2 } });
  }
}, { transport: 'ws', prefetch: 10, concurrency: 2 });

while (received < 3) await new Promise((resolve) => setTimeout(resolve, 50));
const reply = await client.request<{ answer: number }>(me, { question: 21 }, { timeout: 10 });
console.log(`reply ${reply.reply.payload.answer}`);
await consumer.close();
await client.close();
console.log('done');
