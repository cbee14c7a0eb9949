// oauth4webapi.mjs: the oauth4webapi side of oauth4webapi_test.go.
//
// stdin: JSON lines. The first is the configuration
//   {"now": <unix seconds>, "issuer", "jwksURI", "jwks", "audience", "leeway"}
// and every further line one case {"id", "method", "url", "headers": [[name, value], ...]}.
// stdout: one JSON line per case
//   {"id", "ok", "class", "name", "code", "message", "phase"}
// where class is the RFC 6750 / RFC 9449 error class this refusal maps to
// ("invalid_request", "invalid_token", "invalid_dpop_proof", "none" for a bare
// challenge, "?" where oauth4webapi's error does not say which), derived in
// classify() below, the one place where oauth4webapi's errors are mapped.
import * as readline from 'node:readline'

let o
try {
  o = await import('oauth4webapi')
} catch (e) {
  process.stdout.write(JSON.stringify({ missing: String(e) }) + '\n')
  process.exit(0)
}
if (typeof o.validateJwtAccessToken !== 'function') {
  process.stdout.write(JSON.stringify({ missing: 'oauth4webapi has no validateJwtAccessToken' }) + '\n')
  process.exit(0)
}

const rl = readline.createInterface({ input: process.stdin, crlfDelay: Infinity })
let cfg
let as
let options

function classify(e, phase, scheme) {
  const m = String(e?.message ?? e)
  if (/missing an Authorization HTTP Header|invalid Authorization HTTP Header format/.test(m)) return 'invalid_request'
  if (/unsupported Authorization HTTP Header scheme/.test(m)) return 'none'
  // Raised inside validateDPoP before or beside the proof itself:
  if (/request has no DPoP HTTP Header/.test(m)) return scheme === 'dpop' ? 'invalid_dpop_proof' : 'invalid_token'
  if (/Authorization HTTP Header scheme is not DPoP/.test(m)) return '?' // a proof beside the Bearer scheme
  if (/JWT Access Token has no jkt confirmation claim|JWT Access Token confirmation mismatch/.test(m)) return 'invalid_token'
  return phase === 'proof' ? 'invalid_dpop_proof' : 'invalid_token'
}

async function decide(c) {
  const headers = new Headers()
  for (const [k, v] of c.headers) headers.append(k, v)
  const request = new Request(c.url, { method: c.method, headers })
  // validateDPoP's first act is request.headers.get('dpop'): from then on
  // an error is about the proof (the token was checked before).
  let phase = 'token'
  const h = request.headers
  const get = h.get.bind(h)
  h.get = (name) => {
    if (String(name).toLowerCase() === 'dpop') phase = 'proof'
    return get(name)
  }
  const scheme = (get('authorization') ?? '').split(/ +/)[0].toLowerCase()
  try {
    const claims = await o.validateJwtAccessToken(as, request, cfg.audience, options)
    return { id: c.id, ok: true, sub: claims.sub }
  } catch (e) {
    return {
      id: c.id,
      ok: false,
      class: classify(e, phase, scheme),
      name: e?.name,
      code: e?.code,
      message: String(e?.message ?? e),
      phase,
    }
  }
}

for await (const line of rl) {
  if (!line.trim()) continue
  const msg = JSON.parse(line)
  if (!cfg) {
    cfg = msg
    // One fixed clock for the whole run, as the Go side's WithClock.
    const fixed = cfg.now * 1000
    Date.now = () => fixed
    as = { issuer: cfg.issuer, jwks_uri: cfg.jwksURI }
    options = {
      requireDPoP: cfg.requireDPoP === true,
      [o.clockTolerance]: cfg.leeway,
      [o.customFetch]: async () =>
        new Response(JSON.stringify(cfg.jwks), { status: 200, headers: { 'content-type': 'application/json' } }),
    }
    process.stdout.write(JSON.stringify({ ready: true, version: cfg.version }) + '\n')
    continue
  }
  process.stdout.write(JSON.stringify(await decide(msg)) + '\n')
}
