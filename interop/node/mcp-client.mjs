// An MCP client as real Node agents write it: the official TypeScript SDK
// (@modelcontextprotocol/sdk) over the streamable HTTP transport, with a
// bearer token it was given or with the SDK's own OAuth flow for
// machine-to-machine clients (ClientCredentialsProvider: on a 401 it reads
// resource_metadata from the challenge, fetches the protected resource
// metadata (RFC 9728), discovers the authorization server it names, and
// gets a client-credentials token for the resource, RFC 8707; on a 403
// insufficient_scope it gets a token for the challenge's scope and
// retries: MCP's step-up).
//
//   node mcp-client.mjs < SCRIPT.json > RESULT.json
//
// SCRIPT: { "url": the MCP endpoint, "sessions": [SESSION...] }
//
// SESSION: { "name", "token"?, "oauth"?: { "clientId", "clientSecret",
//            "issuer", "scope"?, "token"? }, "calls": [{ "tool", "args"? }...],
//            "discover"?: true }
//   connects a new Client: with "token", sent as "Authorization: Bearer";
//   with "oauth", ClientCredentialsProvider (client_secret_basic,
//   expectedIssuer "issuer", the scope it asks for), starting with "token"
//   when given (as if the provider had saved it); with neither, no token. Then lists the tools
//   and calls each of "calls" in order on the same connection. With
//   "discover", after a refused connection, it also parses the 401's
//   challenge and fetches the metadata and the authorization server's
//   metadata as the SDK's OAuth flow would (its own functions).
//
// RESULT: { "sessions": [{ "connected", "connectError", "tools", "calls":
//   [{ "tool", "isError", "structuredContent", "text", "error" }],
//   "discovery"?, "requests" }] }: errors are { name, code, message } as
//   the SDK threw them; requests lists each HTTP request the session made,
//   { method, url, status, authorization (the credentials sent: the
//   Bearer token, or "Basic" at the token endpoint), wwwAuthenticate,
//   contentType, form (a token request's parameters) }.
//
// The whole run is bounded (20 s); every request times out after 5 s.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ClientCredentialsProvider } from '@modelcontextprotocol/sdk/client/auth-extensions.js';
import {
  discoverAuthorizationServerMetadata,
  discoverOAuthProtectedResourceMetadata,
  extractWWWAuthenticateParams,
} from '@modelcontextprotocol/sdk/client/auth.js';

const deadline = setTimeout(() => {
  process.stderr.write('mcp-client.mjs: did not finish within 20 s\n');
  process.exit(3);
}, 20_000);

const readStdin = async () => {
  const chunks = [];
  for await (const c of process.stdin) chunks.push(c);
  return JSON.parse(Buffer.concat(chunks).toString('utf8'));
};

const errorOf = (err) => err && {
  name: err.constructor?.name ?? 'Error',
  code: typeof err.code === 'number' || typeof err.code === 'string' ? err.code : undefined,
  message: String(err.message ?? err),
};

// recordingFetch is fetch with a timeout that records every exchange (and
// keeps the last 401 answer's headers, for discovery).
function recordingFetch(requests, last) {
  return async (input, init = {}) => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    const headers = new Headers(init.headers ?? (input instanceof Request ? input.headers : undefined));
    const method = init.method ?? (input instanceof Request ? input.method : 'GET');
    const entry = { method, url };
    const authz = headers.get('authorization');
    if (authz) entry.authorization = authz.startsWith('Basic ') ? 'Basic' : authz;
    if (init.body instanceof URLSearchParams) entry.form = Object.fromEntries(init.body);
    else if (typeof init.body === 'string' && headers.get('content-type')?.startsWith('application/x-www-form-urlencoded')) {
      entry.form = Object.fromEntries(new URLSearchParams(init.body));
    }
    requests.push(entry);
    const signals = [AbortSignal.timeout(5_000), init.signal].filter(Boolean);
    const res = await fetch(input, { ...init, signal: AbortSignal.any(signals) });
    entry.status = res.status;
    entry.wwwAuthenticate = res.headers.get('www-authenticate') ?? undefined;
    entry.contentType = res.headers.get('content-type') ?? undefined;
    if (res.status === 401) last.unauthorized = res.headers;
    return res;
  };
}

async function runSession(url, s) {
  const requests = [];
  const last = {};
  const fetchFn = recordingFetch(requests, last);
  const opts = { fetch: fetchFn, reconnectionOptions: { maxRetries: 0, initialReconnectionDelay: 100, maxReconnectionDelay: 100, reconnectionDelayGrowFactor: 1 } };
  if (s.oauth) {
    const provider = new ClientCredentialsProvider({
      clientId: s.oauth.clientId,
      clientSecret: s.oauth.clientSecret,
      expectedIssuer: s.oauth.issuer,
      clientName: 'bearerguard-interop',
      scope: s.oauth.scope,
    });
    if (s.oauth.token) provider.saveTokens({ access_token: s.oauth.token, token_type: 'Bearer' });
    opts.authProvider = provider;
  } else if (s.token) {
    opts.requestInit = { headers: { Authorization: `Bearer ${s.token}` } };
  }
  const transport = new StreamableHTTPClientTransport(new URL(url), opts);
  const client = new Client({ name: 'bearerguard-interop', version: '1.0.0' });
  const out = { name: s.name, connected: false, calls: [], requests };
  try {
    await client.connect(transport);
    out.connected = true;
  } catch (err) {
    out.connectError = errorOf(err);
  }
  if (out.connected) {
    try {
      out.tools = (await client.listTools()).tools.map((t) => t.name);
    } catch (err) {
      out.listError = errorOf(err);
    }
    for (const c of s.calls ?? []) {
      const r = { tool: c.tool };
      try {
        const res = await client.callTool({ name: c.tool, arguments: c.args ?? {} });
        r.isError = res.isError === true;
        r.structuredContent = res.structuredContent;
        r.text = (res.content ?? []).filter((x) => x.type === 'text').map((x) => x.text).join('\n');
      } catch (err) {
        r.error = errorOf(err);
      }
      out.calls.push(r);
    }
  }
  if (s.discover && last.unauthorized) {
    // What the SDK's OAuth flow reads from a 401, step by step.
    const d = {};
    try {
      const params = extractWWWAuthenticateParams(new Response(null, { status: 401, headers: last.unauthorized }));
      d.resourceMetadataUrl = params.resourceMetadataUrl?.href;
      d.scope = params.scope;
      d.challengeError = params.error;
      const prm = await discoverOAuthProtectedResourceMetadata(url, { resourceMetadataUrl: params.resourceMetadataUrl }, fetchFn);
      d.resourceMetadata = prm;
      const as = await discoverAuthorizationServerMetadata(prm.authorization_servers[0], { fetchFn });
      d.authorizationServer = { issuer: as?.issuer, token_endpoint: as?.token_endpoint };
    } catch (err) {
      d.failure = errorOf(err);
    }
    out.discovery = d;
  }
  await client.close().catch(() => {});
  return out;
}

const script = await readStdin();
const sessions = [];
for (const s of script.sessions) sessions.push(await runSession(script.url, s));
clearTimeout(deadline);
process.stdout.write(`${JSON.stringify({ sessions })}\n`);
