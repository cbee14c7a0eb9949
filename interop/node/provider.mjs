// An OpenID-certified authorization server (node-oidc-provider) for the
// interop tests, configured from a JSON file written by the Go test:
//
//   node provider.mjs CONFIG.json
//
// CONFIG: { "issuer": "http://127.0.0.1:PORT", "port": PORT, "jwks": {"keys": [...private JWKs...]},
//           "clients": [...], "clientAlgs": {"<client_id>": "<alg>"},
//           "resources": {"<indicator>": {"audience", "format"}},
//           "dpopNonce": true?, "tls": {"cert", "key", "clientCA"}? }
//
// Confidential clients use client_credentials; a resource indicator
// (RFC 8707) selects the token format: RFC 9068 JWT access tokens (signed
// with the client's alg in clientAlgs, default RS256) or opaque tokens for
// introspection. Introspection (RFC 7662) and revocation (RFC 7009) are
// enabled. Keys rotate by restarting with a new CONFIG on the same port.
// Prints "READY <issuer>" once listening; stops on SIGTERM.
//
// DPoP (RFC 9449) is enabled: a token request with a DPoP proof (ES256,
// ES384, ES512, PS256, RS256, EdDSA or Ed25519) gets a DPoP-bound token
// ("cnf.jkt", token_type DPoP); with "dpopNonce" the token endpoint also
// requires its own server nonces (400 use_dpop_nonce).
//
// With "tls" (PEM file paths) the provider serves HTTPS itself (the issuer
// is then https://…), asks clients for a certificate issued by clientCA
// without requiring one, and issues certificate-bound tokens (RFC 8705,
// "cnf" "x5t#S256") to clients registered with
// tls_client_certificate_bound_access_tokens: the certificate is the TLS
// peer's, read from the socket by features.mTLS.getCertificate.
import { randomBytes, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:https';
import Provider, { errors } from 'oidc-provider';

const cfg = JSON.parse(readFileSync(process.argv[2], 'utf8'));

const provider = new Provider(cfg.issuer, {
  clients: cfg.clients,
  jwks: cfg.jwks,
  scopes: ['read:data', 'write:data'],
  clientBasedCORS: () => false,
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    introspection: { enabled: true },
    revocation: { enabled: true },
    dPoP: cfg.dpopNonce
      ? { enabled: true, nonceSecret: randomBytes(32), requireNonce: () => true }
      : { enabled: true },
    mTLS: cfg.tls
      ? {
        enabled: true,
        certificateBoundAccessTokens: true,
        getCertificate(ctx) {
          const peer = ctx.socket.getPeerCertificate?.();
          return peer && peer.raw ? new X509Certificate(peer.raw) : undefined;
        },
      }
      : { enabled: false },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => undefined,
      useGrantedResource: () => true,
      getResourceServerInfo(ctx, indicator, client) {
        const rs = cfg.resources[indicator];
        if (!rs) throw new errors.InvalidTarget();
        const info = { scope: 'read:data write:data', audience: rs.audience, accessTokenTTL: 3600, accessTokenFormat: rs.format };
        if (rs.format === 'jwt') {
          const alg = (cfg.clientAlgs && cfg.clientAlgs[client.clientId]) || 'RS256';
          info.jwt = { sign: { alg } };
        }
        return info;
      },
    },
  },
  // Every DPoP proof algorithm the tests' clients use.
  enabledJWA: { dPoPSigningAlgValues: ['ES256', 'ES384', 'ES512', 'PS256', 'RS256', 'Ed25519', 'EdDSA'] },
  ttl: { ClientCredentials: 3600 },
});
provider.proxy = false;

const ready = () => process.stdout.write(`READY ${cfg.issuer}\n`);
let server;
if (cfg.tls) {
  server = createServer({
    cert: readFileSync(cfg.tls.cert),
    key: readFileSync(cfg.tls.key),
    ca: readFileSync(cfg.tls.clientCA),
    requestCert: true,
    rejectUnauthorized: false, // discovery and JWKS need no certificate
  }, provider.callback());
  server.listen(cfg.port, '127.0.0.1', ready);
} else {
  server = provider.listen(cfg.port, '127.0.0.1', ready);
}
const stop = () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
