// An Express 5 API structured with express.Router(), every setting at its
// default, as most are written: Routers route case-insensitively and
// ignore a trailing slash (they do not inherit the app's settings), and a
// Router mounted at /orders/admin also serves /orders/admin itself; and
// Express matches the path as sent, escapes undecoded. Each handler
// answers its own name.
//
//   node node/routers-upstream.mjs   → prints "READY <port>", serves until SIGTERM
import express from 'express';
import { listen } from './listen.mjs';

const app = express();
const admin = express.Router();
admin.get('/', (req, res) => res.send('admin-index'));
admin.get('/users', (req, res) => res.send('admin-users'));
const orders = express.Router();
orders.use('/admin', admin);
orders.get('/:id', (req, res) => res.send('get-order'));
app.use('/orders', orders);
app.get('/admin', (req, res) => res.send('admin-page'));
app.get('/healthz', (req, res) => res.send('healthz'));
app.get('/:tenant', (req, res) => res.send('tenant')); // matched on the path as sent: /h%65althz is a tenant
app.use((req, res) => res.status(404).send('not-found'));

listen(app);
