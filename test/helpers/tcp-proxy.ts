/**
 * A small TCP fault proxy for tests: forwards 127.0.0.1:<port> to a target port and can add
 * latency or cut every open connection, to show clients ride through network faults.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';

/** A running proxy. */
export class TcpProxy {
  private readonly sockets = new Set<Socket>();
  private latencyMs = 0;

  private constructor(
    private readonly server: Server,
    /** Port the proxy listens on. */
    readonly port: number,
  ) {}

  /** Starts a proxy to 127.0.0.1:`targetPort` on a free port. */
  static async start(targetPort: number): Promise<TcpProxy> {
    const holder: { proxy?: TcpProxy } = {};
    const server = createServer((client) => {
      const upstream = connect({ port: targetPort, host: '127.0.0.1' });
      const p = holder.proxy as TcpProxy;
      p.sockets.add(client);
      p.sockets.add(upstream);
      const forward = (from: Socket, to: Socket): void => {
        from.on('data', (chunk: Buffer) => {
          if (p.latencyMs === 0) to.write(chunk);
          else setTimeout(() => to.writable && to.write(chunk), p.latencyMs);
        });
      };
      forward(client, upstream);
      forward(upstream, client);
      const close = (): void => {
        client.destroy();
        upstream.destroy();
        p.sockets.delete(client);
        p.sockets.delete(upstream);
      };
      client.on('close', close);
      upstream.on('close', close);
      client.on('error', close);
      upstream.on('error', close);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    holder.proxy = new TcpProxy(server, typeof address === 'object' && address ? address.port : 0);
    return holder.proxy;
  }

  /** `redis://127.0.0.1:<proxy port>` */
  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** Delays every forwarded chunk by `ms` (0 = none). */
  setLatency(ms: number): void {
    this.latencyMs = ms;
  }

  /** Destroys every open connection (clients see a reset and must reconnect). */
  cutAll(): number {
    const n = this.sockets.size;
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
    return n;
  }

  /** Stops the proxy. */
  async stop(): Promise<void> {
    this.cutAll();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
