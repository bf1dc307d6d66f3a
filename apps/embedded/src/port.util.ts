import net from 'node:net';

/** A TCP port that was free on `host` a moment ago (the caller must cope with losing a race for it). */
export function findFreePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen({ host, port: 0, exclusive: true }, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(new Error(`could not pick a free port on ${host}`))));
    });
  });
}

/** Rejects with an actionable message when something already listens on host:port. */
export function assertPortFree(host: string, port: number, variable: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EADDRINUSE') {
        reject(new Error(`port ${port} on ${host} is already in use: stop whatever listens there or choose another port with ${variable}`));
      } else if (err.code === 'EADDRNOTAVAIL') {
        reject(new Error(`cannot listen on ${host}: it is not an address of this machine (check CARGOHOLD_HOST)`));
      } else if (err.code === 'EACCES') {
        reject(new Error(`not allowed to listen on ${host}:${port} (ports below 1024 need privileges; check ${variable})`));
      } else {
        reject(new Error(`cannot listen on ${host}:${port}: ${err.message}`));
      }
    });
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve()));
  });
}
