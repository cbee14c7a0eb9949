// An Express 5 API that takes the method from the request, as the
// method-override package's README shows: from the X-HTTP-Method-Override
// and X-HTTP-Method headers, and from a _method query parameter, for a
// POST (its default). Each handler answers its own name.
//
//   node node/override-upstream.mjs   → prints "READY <port>", serves until SIGTERM
import express from 'express';
import { listen } from './listen.mjs';
import methodOverride from 'method-override';

const app = express();
app.use(methodOverride('X-HTTP-Method-Override'));
app.use(methodOverride('X-HTTP-Method'));
app.use(methodOverride('_method'));
app.get('/orders/:id', (req, res) => res.send('get-order'));
app.post('/orders/:id', (req, res) => res.send('post-order'));
app.delete('/orders/:id', (req, res) => res.send('delete-order'));
app.use((req, res) => res.status(404).send('not-found'));

listen(app);
