// A small Express API, as the teams behind a gateway write it: it trusts
// the gateway and echoes what it received, so the tests can see which
// identity headers reached it.
//
//   node node/upstream.mjs   → prints "READY <port>", serves until SIGTERM
import express from 'express';
import { listen } from './listen.mjs';

const app = express();
// Case-sensitive and strict routing: the gateway matched the path as it is.
app.set('case sensitive routing', true);
app.set('strict routing', true);

let calls = 0;
app.get('/__calls', (req, res) => res.json({ calls }));
app.use((req, res) => {
  calls++;
  const identity = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (name.startsWith('x-auth-')) identity[name] = value;
  }
  res.json({
    method: req.method,
    url: req.originalUrl,
    identity,
    authorization: req.headers.authorization !== undefined,
  });
});

listen(app);
