// DPoP clients (RFC 9449) as real Node services write them: tokens from the
// client-credentials grant (client_secret_basic) bound to one ES256 key
// pair, then API calls with a proof each, and the server-nonce retry of
// RFC 9449 §8 at the token endpoint and at the resource server.
//
//   node dpop.mjs < SCRIPT.json > RESULT.json
//
// SCRIPT: { "client": "jose"|"openid-client", "issuer", "tokenURL",
//           "clientId", "clientSecret", "keyAlg"?, "steps": [STEP...] }
//
// keyAlg is the JWS algorithm of the proof key (default ES256), as jose's
// generateKeyPair names it: ES256, ES384, ES512, PS256, RS256, EdDSA,
// Ed25519 (RFC 9864's fully-specified name for EdDSA over Ed25519)…
//
// "jose" is a hand-written client on the npm jose package: it makes every
// proof itself (SignJWT, the public JWK in the header, htu the target URI
// without query and fragment, ath the SHA-256 of the token), keeps the
// last DPoP-Nonce each origin sent, and retries a 400 (token endpoint) or
// 401 (API) use_dpop_nonce once. "openid-client" is the npm openid-client
// library (discovery, clientCredentialsGrant and fetchProtectedResource
// with a DPoP handle), which does all of that itself and parses the API's
// WWW-Authenticate challenges.
//
// STEP, run in order:
//   { "op": "token", "name", "scope", "resource", "dpop": true|false }
//       gets a token (with a DPoP proof when dpop is true), kept as name;
//   { "op": "call", "token": name, "method", "url", "scheme": "DPoP"|"Bearer",
//     "proof": "fresh"|"replay"|"none"|"other-key"|"wrong-method",
//     "retryNonce": true|false }
//       calls the API. "fresh": a new proof (with openid-client, the
//       library's; it then sends the DPoP scheme, and Bearer for "none",
//       whatever "scheme" says); "replay": the last proof sent
//       (by the previous step) again, byte for byte (openid-client makes
//       the request, its proof swapped for the old one); "none": no DPoP header. jose only: "other-key" signs a
//       fresh proof with a second key pair, "wrong-method" makes the proof
//       for another method, and retryNonce retries a 401 use_dpop_nonce
//       once with the nonce it named (openid-client always does).
//
// RESULT: { "thumbprint": the key's jkt, "results": [one per step] }. A
// token step gives { status, tokenType, accessToken, error, requests }, a
// call step { status, wwwAuthenticate, dpopNonce, body, challenges,
// requests }: requests lists each HTTP request the step made as
// { method, url, status, dpop (a proof was sent), nonce (the proof's),
// dpopNonce (the answer's DPoP-Nonce) }, so retries are visible;
// challenges are the WWW-Authenticate challenges as openid-client parsed
// them (openid-client only).
//
// The whole run is bounded (20 s); every request times out after 5 s.
import { randomUUID } from 'node:crypto';
import { calculateJwkThumbprint, decodeJwt, exportJWK, generateKeyPair, SignJWT, base64url } from 'jose';
import * as oidc from 'openid-client';

const deadline = setTimeout(() => {
  process.stderr.write('dpop.mjs: did not finish within 20 s\n');
  process.exit(3);
}, 20_000);

const readStdin = async () => {
  const chunks = [];
  for await (const c of process.stdin) chunks.push(c);
  return JSON.parse(Buffer.concat(chunks).toString('utf8'));
};
const script = await readStdin();
const keyAlg = script.keyAlg || 'ES256';

// Every request of a step, as the server saw it.
let requests = [];
const tracedFetch = async (url, init = {}) => {
  const headers = new Headers(init.headers);
  if (substitute && headers.has('dpop')) headers.set('dpop', substitute);
  const proof = headers.get('dpop');
  const res = await fetch(url, { ...init, headers, signal: init.signal ?? AbortSignal.timeout(5_000) });
  requests.push({
    method: init.method || 'GET',
    url: String(url),
    status: res.status,
    dpop: !!proof,
    nonce: proof ? (decodeJwt(proof).nonce || '') : '',
    dpopNonce: res.headers.get('dpop-nonce') || '',
  });
  if (proof) lastProof = proof;
  return res;
};
let lastProof;
// substitute replaces the DPoP header of openid-client's next request:
// how it replays a proof, so that it still parses the answer.
let substitute;

const answerOf = async (res) => ({
  status: res.status,
  wwwAuthenticate: res.headers.get('www-authenticate') || '',
  dpopNonce: res.headers.get('dpop-nonce') || '',
  body: await res.json().catch(() => null),
});

// replay sends the last proof again (the jose client).
async function replay(step, tok) {
  if (!lastProof) throw new Error('no proof to replay');
  const res = await tracedFetch(step.url, { method: step.method, headers: { authorization: `${step.scheme} ${tok}`, dpop: lastProof } });
  return answerOf(res);
}

// ---- the hand-written jose client ----

async function joseClient() {
  const newKey = async () => {
    const { publicKey, privateKey } = await generateKeyPair(keyAlg);
    return { privateKey, jwk: await exportJWK(publicKey) };
  };
  const key = await newKey();
  let otherKey; // made when a step needs it: RSA keys take a while
  const sha256 = async (s) => base64url.encode(new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(s))));

  // proof makes a DPoP proof JWT (RFC 9449 §4.2).
  const proof = async (k, method, url, accessToken) => {
    const u = new URL(url);
    const payload = { jti: randomUUID(), htm: method, htu: `${u.origin}${u.pathname}` };
    if (accessToken) payload.ath = await sha256(accessToken);
    const nonce = nonces.get(u.origin);
    if (nonce) payload.nonce = nonce;
    return new SignJWT(payload)
      .setProtectedHeader({ alg: keyAlg, typ: 'dpop+jwt', jwk: k.jwk })
      .setIssuedAt()
      .sign(k.privateKey);
  };

  // The last DPoP-Nonce each origin sent: a client keeps using it.
  const nonces = new Map();
  const send = async (url, init) => {
    const res = await tracedFetch(url, init);
    const n = res.headers.get('dpop-nonce');
    if (n) nonces.set(new URL(url).origin, n);
    return res;
  };

  const basic = Buffer.from(`${encodeURIComponent(script.clientId)}:${encodeURIComponent(script.clientSecret)}`).toString('base64');
  return {
    thumbprint: await calculateJwkThumbprint(key.jwk),
    async token(step) {
      const once = async () => {
        const headers = { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded' };
        if (step.dpop) headers.dpop = await proof(key, 'POST', script.tokenURL);
        const body = new URLSearchParams({ grant_type: 'client_credentials', scope: step.scope });
        if (step.resource) body.set('resource', step.resource);
        const res = await send(script.tokenURL, { method: 'POST', headers, body });
        return { res, body: await res.json().catch(() => ({})) };
      };
      let { res, body } = await once();
      if (step.dpop && res.status === 400 && body.error === 'use_dpop_nonce') {
        ({ res, body } = await once());
      }
      return { status: res.status, tokenType: body.token_type, accessToken: body.access_token, error: body.error };
    },
    async call(step, tok) {
      if (step.proof === 'replay') return replay(step, tok);
      const once = async () => {
        const headers = { authorization: `${step.scheme} ${tok}` };
        switch (step.proof) {
          case 'fresh': headers.dpop = await proof(key, step.method, step.url, tok); break;
          case 'other-key':
            otherKey ??= await newKey();
            headers.dpop = await proof(otherKey, step.method, step.url, tok);
            break;
          case 'wrong-method': headers.dpop = await proof(key, step.method === 'GET' ? 'POST' : 'GET', step.url, tok); break;
          case 'none': break;
          default: throw new Error(`jose: unknown proof ${step.proof}`);
        }
        return answerOf(await send(step.url, { method: step.method, headers }));
      };
      let answer = await once();
      if (step.retryNonce && step.proof === 'fresh' && answer.status === 401 && /error="use_dpop_nonce"/.test(answer.wwwAuthenticate)) {
        answer = await once();
      }
      return answer;
    },
  };
}

// ---- openid-client ----

async function openidClient() {
  const config = await oidc.discovery(new URL(script.issuer), script.clientId, undefined,
    oidc.ClientSecretBasic(script.clientSecret), { execute: [oidc.allowInsecureRequests], [oidc.customFetch]: tracedFetch, timeout: 5 });
  const keyPair = await oidc.randomDPoPKeyPair(keyAlg);
  const DPoP = oidc.getDPoPHandle(config, keyPair);
  return {
    thumbprint: await calculateJwkThumbprint(await exportJWK(keyPair.publicKey)),
    async token(step) {
      const params = { scope: step.scope };
      if (step.resource) params.resource = step.resource;
      try {
        const t = await oidc.clientCredentialsGrant(config, params, step.dpop ? { DPoP } : undefined);
        return { status: 200, tokenType: t.token_type, accessToken: t.access_token };
      } catch (err) {
        return { status: err.status || 0, error: err.error || String(err) };
      }
    },
    async call(step, tok) {
      if (!['fresh', 'none', 'replay'].includes(step.proof)) throw new Error(`openid-client: unsupported proof ${step.proof}`);
      // The library picks the scheme: DPoP with a handle, else Bearer.
      const options = step.proof === 'none' ? undefined : { DPoP };
      if (step.proof === 'replay') {
        if (!lastProof) throw new Error('no proof to replay');
        substitute = lastProof;
      }
      try {
        const res = await oidc.fetchProtectedResource(config, tok, new URL(step.url), step.method, undefined, undefined, options);
        return answerOf(res);
      } catch (err) {
        // A WWW-Authenticate challenge is thrown, parsed.
        if (!err.response) throw err;
        return { ...(await answerOf(err.response)), challenges: err.cause };
      } finally {
        substitute = undefined;
      }
    },
  };
}

const client = script.client === 'openid-client' ? await openidClient() : await joseClient();
const tokens = new Map();
const results = [];
for (const step of script.steps) {
  requests = [];
  let r;
  if (step.op === 'token') {
    r = await client.token(step);
    if (r.accessToken) tokens.set(step.name, r.accessToken);
  } else if (step.op === 'call') {
    const tok = tokens.get(step.token);
    if (!tok) throw new Error(`no token named ${step.token}`);
    r = await client.call(step, tok);
  } else {
    throw new Error(`unknown op ${step.op}`);
  }
  results.push({ ...r, requests });
}
clearTimeout(deadline);
process.stdout.write(`${JSON.stringify({ thumbprint: client.thumbprint, results })}\n`);
