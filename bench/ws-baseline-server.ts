/**
 * The end-to-end latency baseline: a raw `ws` server (its own process, like the real server)
 * that broadcasts graphql-ws-shaped `next` messages to the clients of each DNO at a given rate.
 * The send instant (process.hrtime, CLOCK_MONOTONIC, comparable across processes) travels in the
 * message in place of the alert ID. Driven over IPC by bench/benchmarks/e2e-latency.ts.
 */
import { WebSocketServer } from 'ws';
import type { WebSocket } from 'ws';

interface Plan {
  rate: number;
  seconds: number;
  dnos: string[];
}

const clients = new Map<string, WebSocket[]>();
const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
wss.on('connection', (socket, request) => {
  const dno = new URL(request.url ?? '/', 'http://x').searchParams.get('dno') ?? '';
  const list = clients.get(dno) ?? [];
  list.push(socket);
  clients.set(dno, list);
});
wss.on('listening', () => {
  const address = wss.address();
  process.send!({ type: 'listening', port: address && typeof address === 'object' ? address.port : 0 });
});

const SUBSCRIPTION_ID = '3f1e7c2a-9b4d-4e8f-a1c6-5d2b7e9f0a13';

process.on('message', (message: { type: string; plan?: Plan }) => {
  if (message.type === 'stop') {
    wss.close();
    process.exit(0);
  }
  if (message.type !== 'run' || !message.plan) return;
  const { rate, seconds, dnos } = message.plan;
  const total = Math.round(rate * seconds);
  const sequence = new Map<string, number>();
  const t0 = Number(process.hrtime.bigint()) / 1e6;
  let sent = 0;
  const tick = () => {
    const now = Number(process.hrtime.bigint()) / 1e6;
    const due = Math.min(total, Math.floor(((now - t0) / 1000) * rate));
    for (; sent < due; sent++) {
      const dno = dnos[sent % dnos.length];
      const seq = (sequence.get(dno) ?? 0) + 1;
      sequence.set(dno, seq);
      const sentAt = process.hrtime.bigint().toString();
      const bytes = JSON.stringify({
        id: SUBSCRIPTION_ID,
        type: 'next',
        payload: { data: { dnoAlerts: { sequence: String(seq), kind: 'AD1', alert: { id: sentAt } } } },
      });
      for (const socket of clients.get(dno) ?? []) socket.send(bytes);
    }
    if (sent < total) setTimeout(tick, 10);
    else process.send!({ type: 'done', sent, seconds: (Number(process.hrtime.bigint()) / 1e6 - t0) / 1000 });
  };
  tick();
});
