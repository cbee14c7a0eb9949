// An authorization server as Node shops write it: Express and the npm
// oauth2-server package (3.1.1, the version such apps pin) or its successor
// @node-oauth/oauth2-server (5.x): the same script runs on either.
//
//   node oauth2-server-as.mjs CONFIG.json
//
// CONFIG.json (written by the Go test; secrets stay out of argv):
//   {"package": "oauth2-server" | "@node-oauth/oauth2-server",
//    "accessTokenLifetime": 3600,           // seconds; tests use a few
//    "clients": [{"id", "secret", "scope"}], // confidential, client_credentials
//    "resourceServers": [{"id", "secret"}]}  // may call /oauth/introspect
//
// Routes:
//   POST /oauth/token       the package's token handler (client_credentials;
//                           client_id and client_secret in the form or Basic)
//   POST /oauth/revoke      RFC 7009, written by hand (the package has none)
//   POST /oauth/introspect  RFC 7662, written by hand, client_secret_basic:
//                           active, scope, client_id, exp, token_type; no aud
//   GET  /me                the package's own resource check, with
//                           allowBearerTokensInQueryString as such apps set it
//
// It listens on 127.0.0.1, a free port, and prints "READY <base URL>". The
// model is in memory. Nothing here logs a token or a secret.
import crypto from 'node:crypto';
import fs from 'node:fs';
import express from 'express';

const cfg = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const packages = ['oauth2-server', '@node-oauth/oauth2-server'];
if (!packages.includes(cfg.package)) {
  throw new Error(`package must be one of ${packages.join(', ')}`);
}
const { default: OAuth2Server } = await import(cfg.package);
const { Request, Response } = OAuth2Server;

// Secrets compared in constant time.
const same = (a, b) => {
  const ha = crypto.createHash('sha256').update(String(a)).digest();
  const hb = crypto.createHash('sha256').update(String(b)).digest();
  return crypto.timingSafeEqual(ha, hb);
};

// Scopes: 3.x hands the model a space-delimited string, 5.x an array.
const scopeList = (s) => (Array.isArray(s) ? s : String(s ?? '').split(' ')).filter(Boolean);

const clients = new Map(cfg.clients.map((c) => [c.id, c]));
const tokens = new Map(); // access token → saved token

const model = {
  async getClient(clientId, clientSecret) {
    const c = clients.get(clientId);
    if (!c || !same(c.secret, clientSecret)) return null;
    return { id: c.id, grants: ['client_credentials'], scope: c.scope };
  },
  async getUserFromClient(client) {
    return { id: `client:${client.id}` }; // machine client: the client is the user
  },
  async validateScope(user, client, scope) {
    const allowed = scopeList(client.scope);
    const asked = scopeList(scope);
    if (asked.length === 0) return Array.isArray(scope) ? allowed : allowed.join(' ');
    if (!asked.every((s) => allowed.includes(s))) return false;
    return scope;
  },
  async saveToken(token, client, user) {
    const saved = { ...token, client, user };
    tokens.set(token.accessToken, saved);
    return saved;
  },
  async getAccessToken(accessToken) {
    return tokens.get(accessToken) ?? null;
  },
};

const oauth = new OAuth2Server({
  model,
  accessTokenLifetime: cfg.accessTokenLifetime ?? 3600,
  allowBearerTokensInQueryString: true,
});

const app = express();
app.disable('x-powered-by');
app.use(express.urlencoded({ extended: false }));

// send copies the package's Response onto Express's.
const send = (res, response) => res.set(response.headers).status(response.status).json(response.body);

app.post('/oauth/token', async (req, res) => {
  const request = new Request(req);
  const response = new Response(res);
  try {
    await oauth.token(request, response);
  } catch (err) {
    // The package has set the error's status and body on response.
    if (!response.body || !response.body.error) {
      response.status = err.code ?? 500;
      response.body = { error: err.name ?? 'server_error' };
    }
  }
  send(res, response);
});

// basicAuth reads client_secret_basic credentials (RFC 6749 §2.3.1: each
// form-urlencoded), null when absent or malformed.
function basicAuth(req) {
  const [scheme, value] = (req.get('authorization') ?? '').split(' ');
  if (!/^basic$/i.test(scheme ?? '') || !value) return null;
  const decoded = Buffer.from(value, 'base64').toString('utf8');
  const i = decoded.indexOf(':');
  if (i < 0) return null;
  // application/x-www-form-urlencoded: "+" is a space, then %-escapes.
  const formDecode = (s) => decodeURIComponent(s.replace(/\+/g, '%20'));
  try {
    return { id: formDecode(decoded.slice(0, i)), secret: formDecode(decoded.slice(i + 1)) };
  } catch {
    return null; // a malformed %-escape
  }
}

// RFC 7009: the client that holds a token revokes it. 200 whatever the
// token, so that nobody learns which tokens exist.
app.post('/oauth/revoke', async (req, res) => {
  const creds = basicAuth(req) ?? { id: req.body?.client_id, secret: req.body?.client_secret };
  const client = creds.id ? await model.getClient(creds.id, creds.secret) : null;
  if (!client) {
    res.set('WWW-Authenticate', 'Basic realm="oauth"').status(401).json({ error: 'invalid_client' });
    return;
  }
  const token = tokens.get(req.body?.token);
  if (token && token.client.id === client.id) tokens.delete(req.body.token);
  res.status(200).end();
});

// RFC 7662, as such a team adds it for the APIs that check its tokens:
// the API authenticates with client_secret_basic.
const resourceServers = new Map((cfg.resourceServers ?? []).map((r) => [r.id, r]));
app.post('/oauth/introspect', async (req, res) => {
  const creds = basicAuth(req);
  const rs = creds && resourceServers.get(creds.id);
  if (!rs || !same(rs.secret, creds.secret)) {
    res.set('WWW-Authenticate', 'Basic realm="introspection"').status(401).json({ error: 'invalid_client' });
    return;
  }
  const token = await model.getAccessToken(req.body?.token);
  if (!token || token.accessTokenExpiresAt < new Date()) {
    res.json({ active: false });
    return;
  }
  res.json({
    active: true,
    scope: scopeList(token.scope).join(' '),
    client_id: token.client.id,
    exp: Math.floor(token.accessTokenExpiresAt.getTime() / 1000),
    token_type: 'Bearer',
  });
});

// The package's own check of a bearer token, as the AS's own routes use it.
app.get('/me', async (req, res) => {
  const request = new Request(req);
  const response = new Response(res);
  try {
    const token = await oauth.authenticate(request, response);
    res.json({ client_id: token.client.id, scope: scopeList(token.scope).join(' ') });
  } catch (err) {
    res.set(response.headers).status(err.code ?? 500).json({ error: err.name });
  }
});

const server = app.listen(0, '127.0.0.1', () => {
  process.stdout.write(`READY http://127.0.0.1:${server.address().port}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
