// listen serves an Express app on a free loopback port, prints
// "READY <port>" once it listens, and stops on SIGTERM or SIGINT: the
// contract startProcess in the Go tests waits on.
export function listen(app) {
  const server = app.listen(0, '127.0.0.1', () => {
    process.stdout.write(`READY ${server.address().port}\n`);
  });
  const stop = () => {
    server.close(() => process.exit(0));
    server.closeAllConnections();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}
