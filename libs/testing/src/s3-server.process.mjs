// Child process behind startS3Server() (s3-server.ts). It runs s3rver in its own Node process so
// it can be started with NODE_OPTIONS=--openssl-legacy-provider: s3rver signs ListObjectsV2
// continuation tokens with DES, which OpenSSL 3 only offers through the legacy provider.
//
// argv: <data directory> <bucket to create>. Prints one JSON line {"port":N} once listening,
// and exits when its stdin closes, so a crashed test run never leaves a server behind.
import S3rver from 's3rver';

const [directory, bucket] = process.argv.slice(2);
if (!directory || !bucket) {
  process.stderr.write('usage: s3-server.process.mjs <directory> <bucket>\n');
  process.exit(2);
}

const server = new S3rver({
  address: '127.0.0.1',
  port: 0,
  directory,
  silent: true,
  configureBuckets: [{ name: bucket, configs: [] }],
});
const { port } = await server.run();
process.stdout.write(`${JSON.stringify({ port })}\n`);

let closing = false;
const shutdown = () => {
  if (closing) return;
  closing = true;
  server.close().then(
    () => process.exit(0),
    () => process.exit(0),
  );
  // Open keep-alive sockets can hold close() up; do not wait for them forever.
  setTimeout(() => process.exit(0), 2000).unref();
};
process.stdin.on('end', shutdown);
process.stdin.on('error', shutdown);
process.stdin.resume();
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
