import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { CloseCode, handleProtocols, makeServer } from 'graphql-ws';
import type { ServerOptions } from 'graphql-ws';
import type { WebSocket, WebSocketServer } from 'ws';

/** What every graphql-ws callback gets as `ctx.extra`, as with graphql-ws's own `ws` adapter. */
export interface WsExtra {
  readonly socket: WebSocket;
  readonly request: IncomingMessage;
}

/**
 * Bytes a connection may have waiting in its socket before a send waits for them to drain: a
 * consumer that reads slowly holds its own stream back, not the server's memory.
 */
const HIGH_WATER_BYTES = 1024 * 1024;

/**
 * graphql-ws on a `ws` server: graphql-ws's own `ws` adapter (graphql-ws/use/ws), with one
 * difference in how messages are written.
 *
 * The stock adapter resolves each send when its write has completed, so a subscription sends
 * one message per turn of the event loop and each message is a system call of its own. At 1,000
 * alerts/s with 30 DNO subscribers that is 5,000 writes a second, and a message waited behind as
 * many turns of a busy loop as there were messages ahead of it on its socket (tens of ms each).
 * Here a send returns at once while the socket has less than HIGH_WATER_BYTES queued (beyond,
 * it waits for the write, as before), and the socket is corked until the end of the turn, so the
 * messages a subscription sends in one turn leave in one write. The stream itself yields to the
 * event loop every few events (DeliveryService.stream), so no subscriber holds the loop for long.
 */
export function serveGraphqlWs<P extends Record<string, unknown>, E extends Record<PropertyKey, unknown>>(
  options: ServerOptions<P, WsExtra & Partial<E>>,
  wss: WebSocketServer,
  keepAliveMs: number,
  onError: (message: string, error: unknown) => void = () => undefined,
): { dispose(): Promise<void> } {
  const isProd = process.env.NODE_ENV === 'production';
  const server = makeServer(options);
  wss.options.handleProtocols = handleProtocols;
  const reason = (error: unknown) =>
    isProd ? 'Internal server error' : String(error instanceof Error ? error.message : error).slice(0, 120);

  wss.once('error', (error) => {
    onError('WebSocket server error', error);
    for (const client of wss.clients) client.close(CloseCode.InternalServerError, reason(error));
  });

  wss.on('connection', (socket, request) => {
    socket.once('error', (error) => {
      onError('WebSocket connection error', error);
      socket.close(CloseCode.InternalServerError, reason(error));
    });
    let pongWait: NodeJS.Timeout | null = null;
    const ping =
      keepAliveMs > 0 && Number.isFinite(keepAliveMs)
        ? setInterval(() => {
            if (socket.readyState !== socket.OPEN) return;
            pongWait = setTimeout(() => socket.terminate(), keepAliveMs);
            socket.once('pong', () => {
              if (pongWait) clearTimeout(pongWait);
              pongWait = null;
            });
            socket.ping();
          }, keepAliveMs)
        : null;
    const send = corkedSender(socket);
    const closed = server.opened(
      {
        protocol: socket.protocol,
        send,
        close: (code, why) => socket.close(code, why),
        onMessage: (callback) =>
          socket.on('message', async (data) => {
            try {
              await callback(String(data));
            } catch (error) {
              onError('WebSocket message handling failed', error);
              socket.close(CloseCode.InternalServerError, reason(error));
            }
          }),
      },
      { socket, request } as WsExtra & Partial<E>,
    );
    socket.once('close', (code, why) => {
      if (pongWait) clearTimeout(pongWait);
      if (ping) clearInterval(ping);
      void closed(code, String(why));
    });
  });

  return {
    async dispose() {
      for (const client of wss.clients) client.close(1001, 'Going away');
      wss.removeAllListeners();
      await new Promise<void>((resolve, reject) => wss.close((error) => (error ? reject(error) : resolve())));
    },
  };
}

/**
 * A send for one connection: the frame is written with the socket corked until the end of this
 * turn of the event loop; it resolves at once unless the socket's queue is past the high water.
 */
function corkedSender(socket: WebSocket): (data: string) => Promise<void> | void {
  const raw = (socket as unknown as { _socket?: Socket })._socket;
  let corked = false;
  return (data: string) => {
    if (socket.readyState !== socket.OPEN) return;
    if (raw && !corked) {
      corked = true;
      raw.cork();
      setImmediate(() => {
        corked = false;
        raw.uncork();
      });
    }
    if (!raw || raw.writableLength + socket.bufferedAmount < HIGH_WATER_BYTES) {
      socket.send(data, (error) => {
        // A failed write closes the socket; ws reports it on the socket's 'error'/'close' too.
        if (error) socket.terminate();
      });
      return;
    }
    return new Promise<void>((resolve, reject) =>
      socket.send(data, (error) => (error ? reject(error) : resolve())),
    );
  };
}
