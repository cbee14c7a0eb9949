// An Express 5 API that takes the method from the request, as the
// method-override package's README shows: from the X-HTTP-Method-Override
// and X-HTTP-Method headers, and from a _method query parameter, for a
// POST (its default); and, trusting the gateway, its host from
// X-Forwarded-Host, as a host-routed handler reads it. Each handler
// answers its own name.
//
//   node node/override-upstream.mjs   → prints "READY <port>", serves until SIGTERM
import express from 'express';
import { listen } from './listen.mjs';
import methodOverride from 'method-override';

const app = express();
// Behind the gateway on loopback: req.hostname is X-Forwarded-Host's.
app.set('trust proxy', 'loopback');
app.use(methodOverride('X-HTTP-Method-Override'));
app.use(methodOverride('X-HTTP-Method'));
app.use(methodOverride('_method'));
app.get('/orders/:id', (req, res) => res.send(req.hostname === 'admin.example.com' ? 'admin-get-order' : 'get-order'));
app.post('/orders/:id', (req, res) => res.send('post-order'));
app.delete('/orders/:id', (req, res) => res.send('delete-order'));
app.use((req, res) => res.status(404).send('not-found'));

listen(app);
