// A caller as real Node services write it: get a client-credentials token
// and print the token response as JSON.
//
//   node caller.mjs simple-oauth2|fetch TOKEN_URL CLIENT_ID CLIENT_SECRET SCOPE RESOURCE
//
// "simple-oauth2" uses the npm simple-oauth2 client (ClientCredentials.getToken);
// "fetch" posts the form with client_secret_basic, as the classic examples do.
import { ClientCredentials } from 'simple-oauth2';

const [mode, tokenURL, clientId, clientSecret, scope, resource] = process.argv.slice(2);
const url = new URL(tokenURL);

let token;
if (mode === 'simple-oauth2') {
  const client = new ClientCredentials({
    client: { id: clientId, secret: clientSecret },
    auth: { tokenHost: url.origin, tokenPath: url.pathname },
    options: { authorizationMethod: 'header' },
  });
  const at = await client.getToken({ scope: scope.split(' '), resource });
  token = at.token;
} else if (mode === 'fetch') {
  const basic = Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(clientSecret)}`).toString('base64');
  const res = await fetch(tokenURL, {
    method: 'POST',
    headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'client_credentials', scope, resource }),
  });
  token = await res.json();
  if (!res.ok) throw new Error(`token endpoint: ${res.status} ${JSON.stringify(token)}`);
} else {
  throw new Error(`unknown mode ${mode}`);
}
process.stdout.write(JSON.stringify(token) + '\n');
